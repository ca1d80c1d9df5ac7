// The ACL file: Mosquitto's acl_file syntax, every parse error naming FILE:LINE, and the
// decisions for publish, delivery and subscription (deny wins, %c/%u patterns that never
// widen access, $-topics out of reach of leading wildcards, shared subscriptions).
#include "petrel/auth/acl.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace petrel::auth {
namespace {

Acl parse(std::string_view text) {
    return Acl::parse(text, "acl.conf");
}

Principal anonymous(std::string_view client_id = "c1") {
    return {client_id, std::nullopt};
}
Principal user(std::string_view name, std::string_view client_id = "c1") {
    return {client_id, name};
}

// The message of the AclError that parsing `text` throws; "" when it parses.
std::string parse_error(std::string_view text) {
    try {
        (void)parse(text);
    } catch (const AclError& error) {
        return error.what();
    }
    return "";
}

// ---- Parsing ------------------------------------------------------------------------------

TEST(AclParse, EmptyTextRefusesEverything) {
    const Acl acl = parse("");
    EXPECT_EQ(acl.rule_count(), 0u);
    EXPECT_FALSE(acl.can_publish(anonymous(), "a"));
    EXPECT_FALSE(acl.can_receive(user("u"), "a"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a"));
}

TEST(AclParse, DefaultConstructedRefusesEverything) {
    const Acl acl;
    EXPECT_EQ(acl.rule_count(), 0u);
    EXPECT_FALSE(acl.can_publish(anonymous(), "a"));
}

TEST(AclParse, CommentsAndBlankLinesAreSkipped) {
    const Acl acl = parse("# a comment\n\n   \n\t# indented comment\ntopic a\n#topic b\n");
    EXPECT_EQ(acl.rule_count(), 1u);
    EXPECT_TRUE(acl.can_publish(anonymous(), "a"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "b"));
}

TEST(AclParse, CrLfLineEndingsAndExtraBlanks) {
    const Acl acl = parse("topic   read\t a/b  \r\nuser  bob \r\ntopic write c\r\n");
    EXPECT_EQ(acl.rule_count(), 2u);
    EXPECT_TRUE(acl.can_receive(anonymous(), "a/b"));
    EXPECT_TRUE(acl.can_publish(user("bob"), "c"));
}

TEST(AclParse, NoTrailingNewline) {
    EXPECT_TRUE(parse("topic a").can_publish(anonymous(), "a"));
}

TEST(AclParse, RuleCountSumsTopicsAndPatterns) {
    const Acl acl = parse(
        "topic a\n"
        "topic deny b\n"
        "user u\n"
        "topic c\n"
        "pattern read d/%c\n"
        "user v\n"
        "pattern deny e\n");
    EXPECT_EQ(acl.rule_count(), 5u);
}

TEST(AclParse, FilterWithSpacesIsTheRestOfTheLine) {
    const Acl acl = parse("topic read living room/lamp 1\n");
    EXPECT_TRUE(acl.can_receive(anonymous(), "living room/lamp 1"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "living room/lamp"));
}

TEST(AclParse, UsernameWithSpaces) {
    const Acl acl = parse("user Jane Doe\ntopic a\n");
    EXPECT_TRUE(acl.can_publish(user("Jane Doe"), "a"));
    EXPECT_FALSE(acl.can_publish(user("Jane"), "a"));
}

TEST(AclParse, UnknownKeywordNamesFileAndLine) {
    EXPECT_EQ(parse_error("topic a\n\ntopik b\n"),
              "acl.conf:3: unknown keyword 'topik' (expected topic, pattern or user)");
}

TEST(AclParse, UnknownAccessNamesFileAndLine) {
    EXPECT_EQ(parse_error("# rules\ntopic a\nuser u\ntopic red a/b\n"),
              "acl.conf:4: unknown access 'red' (expected read, write, readwrite or deny)");
}

TEST(AclParse, FilterWithSpacesNeedsTheAccessWord) {
    EXPECT_EQ(parse_error("topic a b\n"),
              "acl.conf:1: unknown access 'a' (expected read, write, readwrite or deny)");
}

TEST(AclParse, MissingFilter) {
    EXPECT_EQ(parse_error("topic\n"), "acl.conf:1: missing topic filter after 'topic'");
    EXPECT_EQ(parse_error("pattern   \n"), "acl.conf:1: missing topic filter after 'pattern'");
}

TEST(AclParse, AccessWordAloneIsAMissingFilterNotATopic) {
    EXPECT_EQ(parse_error("topic read\n"), "acl.conf:1: missing topic filter after 'read'");
    EXPECT_EQ(parse_error("pattern deny\n"), "acl.conf:1: missing topic filter after 'deny'");
}

TEST(AclParse, MissingUsername) {
    EXPECT_EQ(parse_error("topic a\nuser\n"), "acl.conf:2: missing username after 'user'");
}

TEST(AclParse, InvalidFilters) {
    EXPECT_EQ(parse_error("topic read a/#/b\n"), "acl.conf:1: invalid topic filter 'a/#/b'");
    EXPECT_EQ(parse_error("topic a+\n"), "acl.conf:1: invalid topic filter 'a+'");
    EXPECT_EQ(parse_error("topic write a/b#\n"), "acl.conf:1: invalid topic filter 'a/b#'");
    EXPECT_EQ(parse_error("pattern read %c/+x\n"), "acl.conf:1: invalid topic filter '%c/+x'");
}

TEST(AclParse, ValidWildcardFilters) {
    EXPECT_EQ(parse_error("topic #\ntopic +\ntopic +/+/#\ntopic /\ntopic a//b\n"), "");
}

TEST(AclParse, KeywordsAreCaseSensitive) {
    EXPECT_NE(parse_error("Topic a\n"), "");
    EXPECT_NE(parse_error("topic READ a\n"), "");
}

TEST(AclParse, ErrorUsesTheOriginGiven) {
    try {
        (void)Acl::parse("bogus\n", "/etc/petrel/acl");
        FAIL() << "no error";
    } catch (const AclError& error) {
        EXPECT_STREQ(error.what(),
                     "/etc/petrel/acl:1: unknown keyword 'bogus' (expected topic, "
                     "pattern or user)");
    }
}

TEST(AclLoad, ReadsAFile) {
    std::string dir = (std::filesystem::temp_directory_path() / "petrel-acl-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    const auto path = std::filesystem::path(dir) / "acl.conf";
    std::ofstream(path) << "user alice\ntopic read a/#\n";
    const Acl acl = Acl::load(path.string());
    EXPECT_TRUE(acl.can_receive(user("alice"), "a/b"));
    std::filesystem::remove_all(dir);
}

TEST(AclLoad, MissingFileIsAnError) {
    EXPECT_THROW((void)Acl::load("/nonexistent/petrel/acl.conf"), AclError);
}

// ---- Anonymous and user rules -------------------------------------------------------------

TEST(AclDecide, AnonymousRulesApplyOnlyWithoutUsername) {
    const Acl acl = parse("topic a\nuser bob\ntopic b\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "b"));
    EXPECT_FALSE(acl.can_publish(user("bob"), "a"));
    EXPECT_TRUE(acl.can_publish(user("bob"), "b"));
}

TEST(AclDecide, UserWithoutSectionGetsNoTopicRules) {
    const Acl acl = parse("topic a\nuser bob\ntopic b\n");
    EXPECT_FALSE(acl.can_publish(user("carol"), "a"));
    EXPECT_FALSE(acl.can_publish(user("carol"), "b"));
}

TEST(AclDecide, EmptyUsernameIsAUserNotAnonymous) {
    const Acl acl = parse("topic a\n");
    EXPECT_FALSE(acl.can_publish(user(""), "a"));
}

TEST(AclDecide, RepeatedUserSectionsAccumulate) {
    const Acl acl = parse("user bob\ntopic a\nuser eve\ntopic e\nuser bob\ntopic b\n");
    EXPECT_TRUE(acl.can_publish(user("bob"), "a"));
    EXPECT_TRUE(acl.can_publish(user("bob"), "b"));
    EXPECT_FALSE(acl.can_publish(user("bob"), "e"));
}

TEST(AclDecide, UsernamesAreCaseSensitive) {
    const Acl acl = parse("user Bob\ntopic a\n");
    EXPECT_FALSE(acl.can_publish(user("bob"), "a"));
}

TEST(AclDecide, AccessDefaultsToReadWrite) {
    const Acl acl = parse("topic a\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a"));
    EXPECT_TRUE(acl.can_receive(anonymous(), "a"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a"));
}

TEST(AclDecide, ReadOnly) {
    const Acl acl = parse("topic read a\n");
    EXPECT_TRUE(acl.can_receive(anonymous(), "a"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a"));
}

TEST(AclDecide, WriteOnly) {
    const Acl acl = parse("topic write a\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "a"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a"));
}

TEST(AclDecide, ExplicitReadWrite) {
    const Acl acl = parse("topic readwrite a\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a"));
    EXPECT_TRUE(acl.can_receive(anonymous(), "a"));
}

TEST(AclDecide, ReadAndWriteFromSeparateRules) {
    const Acl acl = parse("topic read a/#\ntopic write a/b\n");
    EXPECT_TRUE(acl.can_receive(anonymous(), "a/b"));
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/b"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/c"));
}

TEST(AclDecide, AllowsTakesTheAccess) {
    const Acl acl = parse("topic read a\n");
    EXPECT_TRUE(acl.allows(anonymous(), "a", Access::Read));
    EXPECT_FALSE(acl.allows(anonymous(), "a", Access::Write));
}

// ---- Wildcards in ACL filters -------------------------------------------------------------

TEST(AclMatch, PlusMatchesOneLevel) {
    const Acl acl = parse("topic a/+/c\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/b/c"));
    EXPECT_TRUE(acl.can_publish(anonymous(), "a//c"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/b/x/c"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/c"));
}

TEST(AclMatch, HashMatchesTheRestAndTheParent) {
    const Acl acl = parse("topic a/#\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a"));
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/b"));
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/b/c"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "ab"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "b/a"));
}

TEST(AclMatch, PlusThenHash) {
    const Acl acl = parse("topic a/+/#\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/b"));
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/b/c/d"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a"));
}

TEST(AclMatch, LiteralNeedsAnExactTopic) {
    const Acl acl = parse("topic a/b\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/b"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/b/"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/bc"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a"));
}

TEST(AclMatch, EmptyLevels) {
    const Acl acl = parse("topic /+\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "/a"));
    EXPECT_TRUE(acl.can_publish(anonymous(), "/"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a"));
}

TEST(AclMatch, TopicWithWildcardsOrEmptyIsRefused) {
    const Acl acl = parse("topic #\n");
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/+"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/#"));
    EXPECT_FALSE(acl.can_publish(anonymous(), ""));
}

// ---- $-topics [MQTT-4.7.2-1] --------------------------------------------------------------

TEST(AclDollar, LeadingWildcardsDoNotReachDollarTopics) {
    const Acl acl = parse("topic #\ntopic +/broker/#\n");
    EXPECT_TRUE(acl.can_receive(anonymous(), "a/b"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "$SYS/broker/uptime"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "$SYS"));
}

TEST(AclDollar, ExplicitDollarFilterMatches) {
    const Acl acl = parse("topic read $SYS/#\n");
    EXPECT_TRUE(acl.can_receive(anonymous(), "$SYS/broker/uptime"));
    EXPECT_TRUE(acl.can_receive(anonymous(), "$SYS"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "SYS/x"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "$other/x"));
}

TEST(AclDollar, DollarInALaterLevelIsOrdinary) {
    const Acl acl = parse("topic a/+\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/$b"));
}

TEST(AclDollar, SubscriptionsToDollarTopics) {
    const Acl acl = parse("topic read #\ntopic read $SYS/broker/#\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$SYS/#"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "$SYS/broker/+"));
}

// ---- Deny ---------------------------------------------------------------------------------

TEST(AclDeny, DenyWinsOverAnEarlierGrant) {
    const Acl acl = parse("topic a/#\ntopic deny a/secret\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "a/public"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "a/secret"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "a/secret"));
}

TEST(AclDeny, DenyWinsOverALaterGrant) {
    const Acl acl = parse("topic deny a/secret\ntopic a/#\n");
    EXPECT_FALSE(acl.can_receive(anonymous(), "a/secret"));
    EXPECT_TRUE(acl.can_receive(anonymous(), "a/other"));
}

TEST(AclDeny, WildcardDeny) {
    const Acl acl = parse("topic #\ntopic deny +/private/#\n");
    EXPECT_FALSE(acl.can_publish(anonymous(), "x/private"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "x/private/y"));
    EXPECT_TRUE(acl.can_publish(anonymous(), "x/public"));
}

TEST(AclDeny, PatternDenyWinsOverUserGrant) {
    const Acl acl = parse("user bob\ntopic #\npattern deny locked/%u\n");
    EXPECT_FALSE(acl.can_publish(user("bob"), "locked/bob"));
    EXPECT_TRUE(acl.can_publish(user("bob"), "locked/alice"));
}

TEST(AclDeny, UserDenyWinsOverPatternGrant) {
    const Acl acl = parse("user bob\ntopic deny home/bob/door\npattern home/%u/#\n");
    EXPECT_FALSE(acl.can_publish(user("bob"), "home/bob/door"));
    EXPECT_TRUE(acl.can_publish(user("bob"), "home/bob/lamp"));
}

TEST(AclDeny, AnotherUsersDenyDoesNotApply) {
    const Acl acl = parse("user bob\ntopic a\nuser eve\ntopic deny a\n");
    EXPECT_TRUE(acl.can_publish(user("bob"), "a"));
    EXPECT_FALSE(acl.can_publish(user("eve"), "a"));
}

TEST(AclDeny, DenyAloneGrantsNothing) {
    const Acl acl = parse("topic deny a\n");
    EXPECT_FALSE(acl.can_publish(anonymous(), "b"));
}

// ---- Patterns -----------------------------------------------------------------------------

TEST(AclPattern, ClientIdSubstitution) {
    const Acl acl = parse("pattern readwrite devices/%c/#\n");
    EXPECT_TRUE(acl.can_publish(anonymous("sensor1"), "devices/sensor1/temp"));
    EXPECT_FALSE(acl.can_publish(anonymous("sensor1"), "devices/sensor2/temp"));
    EXPECT_TRUE(acl.can_publish(user("bob", "sensor2"), "devices/sensor2"));
}

TEST(AclPattern, UsernameSubstitution) {
    const Acl acl = parse("pattern write users/%u/out\n");
    EXPECT_TRUE(acl.can_publish(user("bob"), "users/bob/out"));
    EXPECT_FALSE(acl.can_publish(user("bob"), "users/alice/out"));
    EXPECT_FALSE(acl.can_receive(user("bob"), "users/bob/out"));
}

TEST(AclPattern, UsernamePatternSkipsAnonymousClients) {
    const Acl acl = parse("pattern users/%u/#\n");
    EXPECT_FALSE(acl.can_publish(anonymous(), "users//x"));
    EXPECT_FALSE(acl.can_publish(anonymous(), "users/%u/x"));
}

TEST(AclPattern, AppliesToAnonymousAndUnlistedUsers) {
    const Acl acl = parse("user bob\ntopic b\npattern read public/#\n");
    EXPECT_TRUE(acl.can_receive(anonymous(), "public/x"));
    EXPECT_TRUE(acl.can_receive(user("carol"), "public/x"));
    EXPECT_TRUE(acl.can_receive(user("bob"), "public/x"));
}

TEST(AclPattern, BothPlaceholdersAndPartialLevels) {
    const Acl acl = parse("pattern read in/%u-%c/x%cy\n");
    EXPECT_TRUE(acl.can_receive(user("bob", "c7"), "in/bob-c7/xc7y"));
    EXPECT_FALSE(acl.can_receive(user("bob", "c7"), "in/bob-c8/xc7y"));
    EXPECT_FALSE(acl.can_receive(user("bob", "c7"), "in/bob-c7/xc7"));
}

TEST(AclPattern, RepeatedPlaceholder) {
    const Acl acl = parse("pattern %c/%c\n");
    EXPECT_TRUE(acl.can_publish(anonymous("c1"), "c1/c1"));
    EXPECT_FALSE(acl.can_publish(anonymous("c1"), "c1/c2"));
}

TEST(AclPattern, OtherPercentSequencesAreLiteral) {
    const Acl acl = parse("pattern a/%x/%%c/%\n");
    EXPECT_TRUE(acl.can_publish(anonymous("id"), "a/%x/%id/%"));
    EXPECT_FALSE(acl.can_publish(anonymous("id"), "a/%x/%%c/%"));
}

TEST(AclPattern, PlaceholdersInTopicRulesAreLiteral) {
    const Acl acl = parse("topic a/%c\n");
    EXPECT_TRUE(acl.can_publish(anonymous("c1"), "a/%c"));
    EXPECT_FALSE(acl.can_publish(anonymous("c1"), "a/c1"));
}

TEST(AclPattern, WithoutPlaceholdersActsAsAGlobalRule) {
    const Acl acl = parse("pattern read broadcast\n");
    EXPECT_TRUE(acl.can_receive(anonymous(), "broadcast"));
    EXPECT_TRUE(acl.can_receive(user("bob"), "broadcast"));
}

TEST(AclPattern, SubstitutedValueCannotReachDollarTopics) {
    const Acl acl = parse("pattern read %c/#\n");
    EXPECT_TRUE(acl.can_receive(anonymous("dev"), "dev/x"));
    EXPECT_FALSE(acl.can_receive(anonymous("$SYS"), "$SYS/broker/uptime"));
    EXPECT_FALSE(acl.can_subscribe(anonymous("$SYS"), "$SYS/#"));
}

// ---- Malicious identifiers never widen access ---------------------------------------------

TEST(AclMalicious, PlusClientIdGrantsNothing) {
    const Acl acl = parse("pattern devices/%c/#\n");
    EXPECT_FALSE(acl.can_publish(anonymous("+"), "devices/other/x"));
    EXPECT_FALSE(acl.can_publish(anonymous("+"), "devices/+/x"));
    EXPECT_FALSE(acl.can_subscribe(anonymous("+"), "devices/+/#"));
}

TEST(AclMalicious, HashClientIdGrantsNothing) {
    const Acl acl = parse("pattern devices/%c\n");
    EXPECT_FALSE(acl.can_publish(anonymous("#"), "devices/x"));
    EXPECT_FALSE(acl.can_subscribe(anonymous("#"), "devices/#"));
}

TEST(AclMalicious, SlashClientIdGrantsNothing) {
    const Acl acl = parse("pattern devices/%c/#\n");
    EXPECT_FALSE(acl.can_publish(anonymous("a/b"), "devices/a/b/x"));
    EXPECT_FALSE(acl.can_publish(anonymous("a/b"), "devices/a/x"));
}

TEST(AclMalicious, EmbeddedWildcardGrantsNothing) {
    const Acl acl = parse("pattern devices/%c\n");
    EXPECT_FALSE(acl.can_publish(anonymous("x+y"), "devices/x+y"));
    EXPECT_FALSE(acl.can_publish(anonymous("x#"), "devices/xz"));
}

TEST(AclMalicious, DangerousUsername) {
    const Acl acl = parse("pattern users/%u/#\n");
    EXPECT_FALSE(acl.can_publish(user("+"), "users/alice/x"));
    EXPECT_FALSE(acl.can_publish(user("#"), "users/alice"));
    EXPECT_FALSE(acl.can_publish(user("alice/x"), "users/alice/x/y"));
    EXPECT_FALSE(acl.can_publish(user(""), "users//x"));
}

TEST(AclMalicious, EmptyClientIdGrantsNothing) {
    const Acl acl = parse("pattern devices/%c/#\n");
    EXPECT_FALSE(acl.can_publish(anonymous(""), "devices//x"));
}

TEST(AclMalicious, OnlyThePatternsNamingTheValueAreSkipped) {
    const Acl acl = parse("pattern devices/%c/#\npattern users/%u/#\npattern read public/#\n");
    const Principal who = user("bob", "a/b");
    EXPECT_FALSE(acl.can_publish(who, "devices/a/b/x"));
    EXPECT_TRUE(acl.can_publish(who, "users/bob/x"));
    EXPECT_TRUE(acl.can_receive(who, "public/x"));
}

TEST(AclMalicious, UserTopicRulesStillApply) {
    const Acl acl = parse("user bob\ntopic a/#\npattern devices/%c/#\n");
    EXPECT_TRUE(acl.can_publish(user("bob", "+"), "a/b"));
}

TEST(AclMalicious, DenyPatternNamingADangerousValueRefusesEverything) {
    const Acl acl = parse("user bob\ntopic #\npattern deny private/%c/#\n");
    EXPECT_TRUE(acl.can_publish(user("bob", "ok"), "x"));
    EXPECT_FALSE(acl.can_publish(user("bob", "ok"), "private/ok/x"));
    EXPECT_FALSE(acl.can_publish(user("bob", "+"), "x"));
    EXPECT_FALSE(acl.can_publish(user("bob", "a/b"), "private/a/c"));
    EXPECT_FALSE(acl.can_subscribe(user("bob", "#"), "x"));
}

TEST(AclMalicious, DenyUsernamePatternSkipsAnonymous) {
    const Acl acl = parse("topic #\npattern deny private/%u/#\n");
    EXPECT_TRUE(acl.can_publish(anonymous(), "private/x"));
}

// ---- Subscriptions ------------------------------------------------------------------------

TEST(AclSubscribe, HashCoveredByHash) {
    const Acl acl = parse("topic read a/#\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/#"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/b/#"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/+/c"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "+/b"));
}

TEST(AclSubscribe, HashNotCoveredByALiteral) {
    const Acl acl = parse("topic read a/b\n");
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a/#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a/+"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/b"));
}

TEST(AclSubscribe, PlusCoveredByPlus) {
    const Acl acl = parse("topic read a/+\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/+"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/b"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a/#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a/+/c"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a"));
}

TEST(AclSubscribe, PlusCoveredByHash) {
    const Acl acl = parse("topic read a/#\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/+"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/+/+"));
}

TEST(AclSubscribe, PlusThenHashInTheRule) {
    const Acl acl = parse("topic read a/+/#\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/b"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "a/+/#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a/#"));
}

TEST(AclSubscribe, NeedsReadAccess) {
    const Acl acl = parse("topic write a/#\n");
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a/b"));
}

TEST(AclSubscribe, CoveringDenyRefuses) {
    const Acl acl = parse("topic read #\ntopic deny secret/#\n");
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "secret/#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "secret/+/x"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "secret"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "public/#"));
}

TEST(AclSubscribe, PartlyOverlappingDenyLeavesTheSubscriptionToDeliveryChecks) {
    const Acl acl = parse("topic read #\ntopic deny secret/#\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "#"));
    EXPECT_FALSE(acl.can_receive(anonymous(), "secret/x"));
    EXPECT_TRUE(acl.can_receive(anonymous(), "public/x"));
}

TEST(AclSubscribe, PatternCoverage) {
    const Acl acl = parse("pattern read devices/%c/#\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous("d1"), "devices/d1/#"));
    EXPECT_TRUE(acl.can_subscribe(anonymous("d1"), "devices/d1/+/temp"));
    EXPECT_FALSE(acl.can_subscribe(anonymous("d1"), "devices/+/#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous("d1"), "devices/d2/#"));
}

TEST(AclSubscribe, InvalidFilterIsRefused) {
    const Acl acl = parse("topic read #\n");
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a/#/b"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "a+"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), ""));
}

TEST(AclSubscribe, SharedSubscriptionCheckedOnItsFilter) {
    const Acl acl = parse("topic read jobs/#\n");
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "$share/workers/jobs/#"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "$share/workers/jobs/+"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share/workers/other/#"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share/jobs/#"));  // group "jobs", filter "#"
}

TEST(AclSubscribe, SharedSubscriptionDenied) {
    const Acl acl = parse("topic read #\ntopic deny jobs/#\n");
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share/g/jobs/x"));
    EXPECT_TRUE(acl.can_subscribe(anonymous(), "$share/g/other"));
}

TEST(AclSubscribe, MalformedSharedSubscriptionIsRefused) {
    const Acl acl = parse("topic read #\ntopic read $share/#\n");
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share/g"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share//a"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share/g+/a"));
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share/g/"));
}

TEST(AclSubscribe, SharedSubscriptionToDollarTopics) {
    const Acl acl = parse("topic read #\n");
    EXPECT_FALSE(acl.can_subscribe(anonymous(), "$share/g/$SYS/#"));
}

}  // namespace
}  // namespace petrel::auth
