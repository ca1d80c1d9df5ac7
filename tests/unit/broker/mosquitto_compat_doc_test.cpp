// docs/mosquitto-compatibility.md against the parser's keyword table, both ways: every
// keyword the document lists is in the table with the same status, and every Mosquitto
// keyword of the table is in the document.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "config_keywords.hpp"

namespace petrel::broker {
namespace {

std::string status_name(KeywordStatus status) {
    switch (status) {
        case KeywordStatus::Implemented:
            return "implemented";
        case KeywordStatus::Warned:
            return "warned";
        case KeywordStatus::Refused:
            return "refused";
    }
    return "?";
}

// keyword -> status of each table row "| `keyword` | status | note |".
std::map<std::string, std::string> documented() {
    std::ifstream file(std::string(PETREL_SOURCE_DIR) + "/docs/mosquitto-compatibility.md");
    EXPECT_TRUE(file) << "cannot open docs/mosquitto-compatibility.md";
    std::map<std::string, std::string> rows;
    for (std::string line; std::getline(file, line);) {
        if (!line.starts_with("| `")) {
            continue;
        }
        const std::size_t name_end = line.find('`', 3);
        const std::size_t status_start = line.find("| ", name_end) + 2;
        const std::size_t status_end = line.find(" |", status_start);
        const std::string name = line.substr(3, name_end - 3);
        EXPECT_FALSE(rows.contains(name)) << name << " is listed twice";
        rows[name] = line.substr(status_start, status_end - status_start);
    }
    return rows;
}

std::map<std::string, std::string> tabled() {
    std::map<std::string, std::string> rows;
    for (const KeywordEntry& entry : keyword_table()) {
        if (entry.mosquitto) {
            rows[entry.name] = status_name(entry.status);
        }
    }
    return rows;
}

TEST(MosquittoCompatibilityDoc, EveryDocumentedKeywordIsInTheTableWithItsStatus) {
    const auto table = tabled();
    for (const auto& [name, status] : documented()) {
        const auto found = table.find(name);
        if (found == table.end()) {
            ADD_FAILURE() << "'" << name << "' is documented but the parser has no such "
                          << "Mosquitto keyword";
            continue;
        }
        EXPECT_EQ(status, found->second) << "status of '" << name << "'";
    }
}

TEST(MosquittoCompatibilityDoc, EveryMosquittoKeywordOfTheTableIsDocumented) {
    const auto doc = documented();
    EXPECT_GT(doc.size(), 100U);  // the document was read
    for (const auto& [name, status] : tabled()) {
        EXPECT_TRUE(doc.contains(name)) << "'" << name << "' (" << status
                                        << ") is missing from docs/mosquitto-compatibility.md";
    }
}

TEST(MosquittoCompatibilityDoc, TableNamesAreUnique) {
    std::map<std::string, int> seen;
    for (const KeywordEntry& entry : keyword_table()) {
        EXPECT_EQ(++seen[entry.name], 1) << entry.name;
        EXPECT_TRUE(entry.status == KeywordStatus::Implemented || !entry.why.empty() || entry.apply)
            << entry.name << " is warned about or refused without saying why";
    }
}

}  // namespace
}  // namespace petrel::broker
