// Listener-scoped keywords: per_listener_settings (allow_anonymous, password_file and
// acl_file per listener, falling back to the global ones), mount_point and protocol.
#include <gtest/gtest.h>

#include "config_errors.hpp"
#include "petrel/broker/config.hpp"

namespace petrel::broker {
namespace {

TEST(ConfigPerListener, WithoutItSecurityKeywordsAreGlobalWhereverWritten) {
    const Config config = parse_config(
        "listener 1883 127.0.0.1\nacl_file /a\nlistener 8883 192.0.2.1\npassword_file /p\n"
        "allow_anonymous true\n",
        "t");
    ASSERT_EQ(config.listeners.size(), 2U);
    for (const ListenerConfig& listener : config.listeners) {
        const SecurityConfig security = config.security_for(listener);
        EXPECT_EQ(security.acl_file, "/a");
        EXPECT_EQ(security.password_file, "/p");
        EXPECT_TRUE(security.allow_anonymous);
        EXPECT_FALSE(listener.acl_file);
    }
}

TEST(ConfigPerListener, EachListenerHasItsOwnAndFallsBackToTheGlobalOnes) {
    const Config config = parse_config(
        "per_listener_settings true\nacl_file /global.acl\n"
        "listener 1883 127.0.0.1\n"
        "listener 8883 192.0.2.1\npassword_file /users\nacl_file /tls.acl\n"
        "listener 8884 192.0.2.1\nallow_anonymous true\n",
        "t");
    ASSERT_EQ(config.listeners.size(), 3U);
    const SecurityConfig loopback = config.security_for(config.listeners[0]);
    EXPECT_EQ(loopback.acl_file, "/global.acl");
    EXPECT_EQ(loopback.password_file, "");
    EXPECT_TRUE(loopback.allow_anonymous);  // unset: allowed on loopback
    const SecurityConfig tls = config.security_for(config.listeners[1]);
    EXPECT_EQ(tls.acl_file, "/tls.acl");
    EXPECT_EQ(tls.password_file, "/users");
    EXPECT_FALSE(tls.allow_anonymous);  // unset: refused off loopback
    const SecurityConfig open = config.security_for(config.listeners[2]);
    EXPECT_EQ(open.acl_file, "/global.acl");
    EXPECT_TRUE(open.allow_anonymous);
}

TEST(ConfigPerListener, AGlobalAllowAnonymousIsEveryListenersDefault) {
    const Config config = parse_config(
        "per_listener_settings true\nallow_anonymous false\nlistener 1883 127.0.0.1\n"
        "listener 8883 192.0.2.1\nallow_anonymous true\n",
        "t");
    EXPECT_FALSE(config.security_for(config.listeners[0]).allow_anonymous);
    EXPECT_TRUE(config.security_for(config.listeners[1]).allow_anonymous);
}

TEST(ConfigPerListener, MustComeBeforeTheFirstListener) {
    expect_config_error(
        "listener 1883\nper_listener_settings true\n",
        "test.conf:2: bad value for 'per_listener_settings': must come before the first "
        "'listener' line");
}

TEST(ConfigListener, MountPointBelongsToItsListener) {
    const Config config = parse_config(
        "listener 1883 127.0.0.1\nmount_point site-a/\nlistener 1884 127.0.0.1\n", "t");
    EXPECT_EQ(config.listeners[0].mount_point, "site-a/");
    EXPECT_EQ(config.listeners[1].mount_point, "");
    expect_config_error("mount_point a/\n", "test.conf:1: 'mount_point' applies to a listener");
    expect_config_error(
        "listener 1883\nmount_point a/+/\n",
        "test.conf:2: bad value for 'mount_point': a mount point may not hold '+' or '#'");
    // A '#' inside a word is part of it (a word starting with '#' starts a comment).
    expect_config_error("listener 1883\nmount_point a/#\n",
                        "test.conf:2: bad value for 'mount_point': a mount point may not hold");
    EXPECT_EQ(
        parse_config("listener 1883\nmount_point a/ # comment\n", "t").listeners[0].mount_point,
        "a/");
}

TEST(ConfigListener, ProtocolMqttOnly) {
    EXPECT_NO_THROW(parse_config("listener 1883\nprotocol mqtt\n", "t"));
    expect_config_error("listener 9001\nprotocol websockets\n",
                        "test.conf:2: bad value for 'protocol': WebSocket is not supported yet");
    expect_config_error("listener 9001\nprotocol mqttsn\n",
                        "test.conf:2: bad value for 'protocol': only 'mqtt' is supported");
    expect_config_error("protocol mqtt\n", "test.conf:1: 'protocol' applies to a listener");
}

}  // namespace
}  // namespace petrel::broker
