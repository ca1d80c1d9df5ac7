// Mosquitto's keywords (issue 11): the ones Petrel implements set their values, the ones
// it warns about leave a "FILE:LINE: ..." warning in Config::warnings, the refused ones
// stop parsing with an error that says what to use instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "config_errors.hpp"
#include "config_keywords.hpp"
#include "petrel/broker/config.hpp"

namespace petrel::broker {
namespace {

Config parse(const std::string& text) {
    return parse_config(text, "test.conf");
}

bool has_warning(const Config& config, const std::string& part) {
    return std::any_of(config.warnings.begin(), config.warnings.end(),
                       [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

TEST(ConfigMosquitto, LimitsAndQos) {
    const Config config = parse(
        "message_size_limit 1024\nmax_inflight_bytes 4096\nupgrade_outgoing_qos true\n"
        "max_inflight_messages 0\nclientid_prefixes dev-\n");
    EXPECT_EQ(config.message_size_limit, 1024U);
    EXPECT_EQ(config.max_inflight_bytes, 4096U);
    EXPECT_TRUE(config.upgrade_outgoing_qos);
    EXPECT_EQ(config.max_inflight_messages, 65535U);  // Mosquitto's 0: no maximum
    EXPECT_EQ(config.clientid_prefixes, "dev-");
    EXPECT_TRUE(config.warnings.empty());
    const Config defaults = parse("");
    EXPECT_EQ(defaults.message_size_limit, 0U);
    EXPECT_EQ(defaults.max_inflight_bytes, 0U);
    EXPECT_FALSE(defaults.upgrade_outgoing_qos);
    expect_config_error("message_size_limit 268435456\n",
                        "test.conf:1: bad value for 'message_size_limit'");
    expect_config_error("max_inflight_bytes -1\n",
                        "test.conf:1: bad value for 'max_inflight_bytes'");
    expect_config_error(
        "upgrade_outgoing_qos yes\n",
        "test.conf:1: bad value for 'upgrade_outgoing_qos': expected true or false");
}

TEST(ConfigMosquitto, ClientIdOptionsFollowPerListenerSettings) {
    const Config global = parse(
        "allow_zero_length_clientid false\nauto_id_prefix gen-\nlistener 1883\n"
        "auto_id_prefix later-\n");
    EXPECT_FALSE(global.allow_zero_length_clientid);
    EXPECT_EQ(global.auto_id_prefix, "later-");  // without per_listener_settings: global
    const SecurityConfig security = global.security_for(global.listeners[0]);
    EXPECT_FALSE(security.allow_zero_length_clientid);
    EXPECT_EQ(security.auto_id_prefix, "later-");

    const Config own = parse(
        "per_listener_settings true\nauto_id_prefix all-\nlistener 1883\n"
        "allow_zero_length_clientid false\nauto_id_prefix one-\nlistener 1884\n");
    EXPECT_FALSE(own.security_for(own.listeners[0]).allow_zero_length_clientid);
    EXPECT_EQ(own.security_for(own.listeners[0]).auto_id_prefix, "one-");
    EXPECT_TRUE(own.security_for(own.listeners[1]).allow_zero_length_clientid);
    EXPECT_EQ(own.security_for(own.listeners[1]).auto_id_prefix, "all-");
    EXPECT_EQ(parse("").auto_id_prefix, "petrel-");
}

TEST(ConfigMosquitto, UseUsernameAsClientidBelongsToItsListener) {
    const Config config = parse("listener 1883\nlistener 1884\nuse_username_as_clientid true\n");
    EXPECT_FALSE(config.listeners[0].use_username_as_clientid);
    EXPECT_TRUE(config.listeners[1].use_username_as_clientid);
    expect_config_error("use_username_as_clientid true\n",
                        "test.conf:1: 'use_username_as_clientid' applies to a listener");
}

TEST(ConfigMosquitto, CrlfileAndSubjectAsUsernameAreParsedIntoTlsSettings) {
    const Config config = parse(
        "listener 8883\ncertfile s.crt\nkeyfile s.key\ncafile ca.crt\nrequire_certificate true\n"
        "crlfile revoked.crl\nuse_subject_as_username true\n");
    ASSERT_TRUE(config.listeners[0].tls);
    EXPECT_EQ(config.listeners[0].tls->crlfile, "revoked.crl");
    EXPECT_TRUE(config.listeners[0].tls->use_subject_as_username);
    EXPECT_FALSE(config.listeners[0].tls->use_identity_as_username);
    expect_config_error("listener 8883\ncertfile s.crt\nkeyfile s.key\ncrlfile revoked.crl\n",
                        "test.conf:1: crlfile on listener 8883 needs cafile or capath");
    expect_config_error(
        "listener 8883\ncertfile s.crt\nkeyfile s.key\ncapath /etc/ssl/certs\n"
        "require_certificate true\nuse_identity_as_username true\nuse_subject_as_username true\n",
        "test.conf:1: use_identity_as_username and use_subject_as_username on listener 8883");
    expect_config_error("crlfile revoked.crl\n", "test.conf:1: 'crlfile' applies to a listener");
    // With capath instead of cafile it is complete.
    EXPECT_NO_THROW(
        parse("listener 8883\ncertfile s.crt\nkeyfile s.key\ncapath /etc/ssl/certs\ncrlfile c\n"));
}

TEST(ConfigMosquitto, AliasesOfMosquitto) {
    const Config config = parse(
        "maximum_qos 1\nretained_persistence false\nmax_topic_alias 3\nlistener 1\n"
        "tls_keyform pem\n");
    EXPECT_EQ(config.maximum_qos, 1);
    EXPECT_FALSE(config.persistence);
    EXPECT_EQ(config.topic_alias_maximum, 3);
    expect_config_error("listener 1\ntls_keyform engine\n",
                        "test.conf:2: bad value for 'tls_keyform': only 'pem'");
}

TEST(ConfigMosquitto, WarningsNameFileAndLine) {
    const Config config = parse(
        "autosave_interval 1800\n\n# comment\nlog_dest file /var/log/mosquitto/mosquitto.log\n"
        "check_retain_source true\nset_tcp_nodelay true\nqueue_qos0_messages false\n"
        "user mosquitto\nlistener 1883\nmax_qos 1\nsocket_domain ipv4\ntls_version tlsv1.1\n"
        "certfile s\nkeyfile k\n");
    EXPECT_TRUE(has_warning(config,
                            "test.conf:1: 'autosave_interval' has no effect: Petrel "
                            "writes every change"));
    EXPECT_TRUE(has_warning(config, "test.conf:4: 'log_dest' has no effect"));
    EXPECT_TRUE(has_warning(config, "test.conf:10: 'max_qos' applies to every listener"));
    EXPECT_TRUE(has_warning(config, "test.conf:11: 'socket_domain' has no effect"));
    EXPECT_TRUE(has_warning(config, "test.conf:12: tls_version tlsv1.1"));
    // The values that are Petrel's own behaviour are not warned about, nor the options it
    // implements.
    EXPECT_FALSE(has_warning(config, "check_retain_source"));
    EXPECT_FALSE(has_warning(config, "user"));
    EXPECT_TRUE(config.check_retain_source);
    EXPECT_FALSE(parse("check_retain_source false\n").check_retain_source);
    EXPECT_FALSE(has_warning(config, "set_tcp_nodelay"));
    EXPECT_FALSE(has_warning(config, "queue_qos0_messages"));
    EXPECT_EQ(config.warnings.size(), 5U);
    EXPECT_EQ(config.user, "mosquitto");
    EXPECT_EQ(config.listeners[0].tls->min_version, net::TlsVersion::Tls12);
    EXPECT_TRUE(parse("check_retain_source false\n").warnings.empty());
    EXPECT_EQ(parse("set_tcp_nodelay false\n").warnings.size(), 1U);
}

TEST(ConfigMosquitto, RefusedKeywordsSayWhatToUseInstead) {
    expect_config_error("auth_plugin /usr/lib/mosquitto_dynamic_security.so\n",
                        "test.conf:1: 'auth_plugin' is not supported: plugins are not supported; "
                        "use password_file and acl_file");
    expect_config_error("auth_opt_db_host localhost\n",
                        "test.conf:1: 'auth_opt_db_host' is not supported: plugins");
    expect_config_error("plugin_opt_config_file dynsec.json\n", "plugins are not supported");
    expect_config_error("listener 1\n\nconnection cloud\naddress broker.example.com:1883\n",
                        "test.conf:3: 'connection' is not supported: it is a bridge option, and "
                        "bridges are not supported yet");
    expect_config_error("topic sensors/# out 1\n", "bridges are not supported yet");
    expect_config_error("http_dir /var/www\n", "WebSocket is not supported yet");
    expect_config_error("listener 9001\nprotocol websockets\n", "WebSocket is not supported yet");
    expect_config_error("port 1883\n",
                        "test.conf:1: 'port' is not supported: deprecated in "
                        "Mosquitto and not supported: write 'listener PORT'");
    expect_config_error("bind_address 0.0.0.0\n", "write 'listener PORT ADDRESS'");
    expect_config_error("listner 1883\n", "test.conf:1: unknown keyword 'listner'");
}

// Every keyword of the table, written as a Mosquitto user would: refused ones stop
// parsing, warned ones without a handler warn, and none is silently ignored.
TEST(ConfigMosquitto, NoKeywordIsSilentlyIgnored) {
    for (const KeywordEntry& entry : keyword_table()) {
        if (entry.status == KeywordStatus::Implemented || entry.apply) {
            continue;
        }
        std::string name = entry.name;
        if (name.ends_with('*')) {
            name = name.substr(0, name.size() - 1) + "key";
        }
        const std::string text = "listener 1883\n" + name + " value\n";
        if (entry.status == KeywordStatus::Refused) {
            expect_config_error(text, "test.conf:2: '" + name + "' is not supported: ");
        } else {
            const Config config = parse(text);
            ASSERT_EQ(config.warnings.size(), 1U) << name;
            EXPECT_EQ(config.warnings[0].rfind("test.conf:2: '" + name + "' has no effect: ", 0),
                      0U)
                << config.warnings[0];
        }
    }
}

class ConfigIncludeDir : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() /
            ("petrel-include-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "conf.d");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name) << text;
    }
    std::filesystem::path dir_;
};

TEST_F(ConfigIncludeDir, FilesAreReadInMosquittoOrderAndErrorsNameThem) {
    // Mosquitto's order: 00, 01, A, a, B, b; the last auto_id_prefix wins.
    for (const char* name : {"b", "A", "01", "a", "B", "00"}) {
        write(std::string("conf.d/") + name + ".conf",
              std::string("auto_id_prefix ") + name + "\n");
    }
    write("conf.d/ignored.txt", "nonsense\n");
    write("conf.d/Z.conf", "\n\nautosave_interval 60\ninclude_dir /nowhere\n");
    write("main.conf", "listener 1883\ninclude_dir " + (dir_ / "conf.d").string() + "\n");
    const Config config = load_config_file((dir_ / "main.conf").string());
    EXPECT_EQ(config.auto_id_prefix, "b");  // read last
    const std::string z = (dir_ / "conf.d" / "Z.conf").string();
    EXPECT_TRUE(has_warning(config, z + ":3: 'autosave_interval' has no effect"));
    EXPECT_TRUE(has_warning(config, z + ":4: include_dir /nowhere not read"));

    write("conf.d/b.conf", "listener 1884\nmount_point a/#\n");
    try {
        load_config_file((dir_ / "main.conf").string());
        ADD_FAILURE() << "accepted";
    } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find((dir_ / "conf.d" / "b.conf").string() + ":2: "),
                  std::string::npos)
            << error.what();
    }
    expect_config_error("include_dir /does/not/exist\n",
                        "test.conf:1: include_dir: cannot read directory '/does/not/exist'");
}

}  // namespace
}  // namespace petrel::broker
