#include "core/json_text.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <random>

namespace tollgate {
namespace {

namespace json = boost::json;

// A random JSON value: every kind, strings with every control byte, quotes,
// backslashes and multi-byte UTF-8, nested a few levels.
json::value random_value(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 3 ? 7 : 9));
  auto text = [&] {
    static const std::string pieces[] = {"a", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", std::string(1, '\0'),
                                         "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe7\x9f\xad", "+86138", " "};
    std::string s;
    for (unsigned n = rng() % 6; n > 0; --n) s += pieces[rng() % std::size(pieces)];
    return s;
  };
  switch (kind) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<std::int64_t>(rng()) - (1LL << 31) * static_cast<std::int64_t>(rng() % 4);
    case 3: return static_cast<std::uint64_t>(rng()) << 33;
    case 4: return static_cast<double>(static_cast<int>(rng() % 2000) - 1000) / 7.0;
    case 5:
    case 6: return json::value(text());
    case 7: {
      json::array a;
      for (unsigned n = rng() % 4; n > 0; --n) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      json::object o;
      for (unsigned n = rng() % 4; n > 0; --n) o[text()] = random_value(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonText, AppendJsonWritesExactlyWhatBoostSerializeWrites) {
  std::mt19937 rng(14);
  for (int i = 0; i < 5000; ++i) {
    const json::value v = random_value(rng, 0);
    std::string out = "prefix:";
    append_json(out, v);
    ASSERT_EQ(out, "prefix:" + json::serialize(v)) << "value " << i;
  }
}

// Every byte value alone, at the start, middle and end of a run of plain text,
// and runs of escapes back to back: the escaper copies plain runs whole.
TEST(JsonText, EscapesEveryByteAsBoostDoes) {
  for (int b = 0; b < 256; ++b) {
    const std::string c(1, static_cast<char>(b));
    for (const std::string& s : {c, c + "abc", "abc" + c, "ab" + c + "cd", c + c + c, "x" + c + c + "y"}) {
      std::string out = "[";
      json_escape_to(out, s);
      const std::string quoted = json::serialize(json::string(s));
      ASSERT_EQ(out, "[" + quoted.substr(1, quoted.size() - 2)) << "byte " << b;
    }
  }
  // Longer strings are scanned eight bytes at a time: each byte at every place
  // of 24 bytes of ASCII, of UTF-8 (bytes from 0x80 up) and of bytes just
  // above and below the ones that need an escape.
  std::string utf8;
  for (int i = 0; i < 12; ++i) utf8 += "\xc3\xa9";
  for (const std::string& fill : {std::string(24, 'a'), utf8, std::string(24, '!'), std::string(24, ']'),
                                  std::string(24, '#'), std::string(24, '[')}) {
    for (int b = 0; b < 256; ++b) {
      for (std::size_t at = 0; at < fill.size(); ++at) {
        std::string s = fill;
        s[at] = static_cast<char>(b);
        std::string out;
        json_escape_to(out, s);
        const std::string quoted = json::serialize(json::string(s));
        ASSERT_EQ(out, quoted.substr(1, quoted.size() - 2)) << "byte " << b << " at " << at;
      }
    }
  }
}

TEST(JsonText, AppendJsonHandlesValuesLargerThanItsBuffer) {
  json::array big;
  for (int i = 0; i < 2000; ++i) big.push_back(json::object{{"k" + std::to_string(i), std::string(40, 'x')}});
  std::string out;
  append_json(out, big);
  EXPECT_EQ(out, json::serialize(big));
}

TEST(JsonText, AnObjectWrittenMemberByMemberParsesBackToItsMembers) {
  std::string out;
  {
    JsonObjectWriter w(out);
    w.string("id", "01ABC")
        .string("detail", std::string("line\n\"two\"\\\x01", 13))
        .number("status", -503)
        .number("big", 9007199254740993LL)
        .boolean("probe", true)
        .value("params", json::object{{"to", "+86138****0000"}, {"n", 1.5}});
    w.member("providers") += R"(["acme","zeta"])";
    w.string("empty", "");
  }
  const json::value back = json::parse(out);
  EXPECT_EQ(back.at("id").as_string(), "01ABC");
  EXPECT_EQ(back.at("detail").as_string(), std::string("line\n\"two\"\\\x01", 13));
  EXPECT_EQ(back.at("status").as_int64(), -503);
  EXPECT_EQ(back.at("big").as_int64(), 9007199254740993LL);
  EXPECT_EQ(back.at("probe").as_bool(), true);
  EXPECT_EQ(back.at("params").at("n").as_double(), 1.5);
  EXPECT_EQ(back.at("providers").as_array().size(), 2u);
  EXPECT_EQ(back.at("empty").as_string(), "");
  EXPECT_EQ(back.as_object().size(), 8u);
}

TEST(JsonText, AnEmptyObjectIsClosedOnce) {
  std::string out;
  {
    JsonObjectWriter w(out);
    w.close();
  }
  EXPECT_EQ(out, "{}");
}

}  // namespace
}  // namespace tollgate
