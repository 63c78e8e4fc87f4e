#include "scanners/patterns/validators.h"

#include <gtest/gtest.h>

#include <string>

namespace warden::scanners {
namespace {

bool RunValidator(std::string_view name, std::string_view text, size_t& b, size_t& e) {
  const Validator* v = FindValidator(name);
  EXPECT_NE(v, nullptr) << name;
  return v != nullptr && v->fn(text, b, e, ValidatorParams{});
}

bool RunWhole(std::string_view name, std::string_view text) {
  size_t b = 0, e = text.size();
  return RunValidator(name, text, b, e);
}

TEST(ValidatorsTest, Luhn) {
  EXPECT_TRUE(LuhnValid("4111111111111111"));
  EXPECT_FALSE(LuhnValid("4111111111111112"));
  EXPECT_TRUE(LuhnValid("378282246310005"));
  EXPECT_FALSE(LuhnValid(""));
  EXPECT_FALSE(LuhnValid("41x1"));
}

TEST(ValidatorsTest, IssuerRanges) {
  EXPECT_TRUE(CardIssuerValid("4111111111111111"));     // Visa 16
  EXPECT_TRUE(CardIssuerValid("4222222222222"));        // Visa 13
  EXPECT_TRUE(CardIssuerValid("5555555555554444"));     // Mastercard 55
  EXPECT_TRUE(CardIssuerValid("2223003122003222"));     // Mastercard 2-series
  EXPECT_TRUE(CardIssuerValid("378282246310005"));      // Amex 15
  EXPECT_FALSE(CardIssuerValid("3782822463100051"));    // Amex must be 15
  EXPECT_TRUE(CardIssuerValid("6011111111111117"));     // Discover
  EXPECT_TRUE(CardIssuerValid("3530111333300000"));     // JCB
  EXPECT_TRUE(CardIssuerValid("30569309025904"));       // Diners 14
  EXPECT_TRUE(CardIssuerValid("6200000000000005"));     // UnionPay
  EXPECT_FALSE(CardIssuerValid("1234567812345670"));    // no issuer starts with 1
  EXPECT_FALSE(CardIssuerValid("2721000000000000"));    // just past Mastercard 2720
}

TEST(ValidatorsTest, CardValidatorWithSeparators) {
  EXPECT_TRUE(RunWhole("luhn_card", "4111 1111 1111 1111"));
  EXPECT_FALSE(RunWhole("luhn_card", "4111 1111 1111 1112"));
  EXPECT_TRUE(RunWhole("luhn_card", "4111-1111-1111-1111"));
  EXPECT_FALSE(RunWhole("luhn_card", "4111-1111 1111-1111"));  // mixed separators
  // A leading digit group that spoils the checksum is trimmed; the span narrows to the card.
  size_t b = 0;
  size_t e = 22;
  EXPECT_TRUE(RunValidator("luhn_card", "12 4111 1111 1111 1111", b, e));
  EXPECT_EQ(b, 3u);
  EXPECT_EQ(e, 22u);
  EXPECT_FALSE(RunWhole("luhn_card", "12-4111-1111-1111-1111"));  // a longer dashed number
}

TEST(ValidatorsTest, Iban) {
  EXPECT_TRUE(IbanValid("GB82 WEST 1234 5698 7654 32"));
  EXPECT_TRUE(IbanValid("GB82WEST12345698765432"));
  EXPECT_TRUE(IbanValid("DE89 3704 0044 0532 0130 00"));
  EXPECT_TRUE(IbanValid("FR14 2004 1010 0505 0001 3M02 606"));
  EXPECT_TRUE(IbanValid("NL91ABNA0417164300"));
  EXPECT_FALSE(IbanValid("GB82 WEST 1234 5698 7654 33"));  // checksum
  EXPECT_FALSE(IbanValid("DE89 3704 0044 0532 0130 0"));   // length for DE
  EXPECT_FALSE(IbanValid("ZZ82WEST12345698765432"));       // unknown country
}

TEST(ValidatorsTest, Ssn) {
  EXPECT_TRUE(SsnValid("219-09-9999"));
  EXPECT_FALSE(SsnValid("000-12-3456"));
  EXPECT_FALSE(SsnValid("666-12-3456"));
  EXPECT_FALSE(SsnValid("900-12-3456"));
  EXPECT_FALSE(SsnValid("123-00-4567"));
  EXPECT_FALSE(SsnValid("123-45-0000"));
}

TEST(ValidatorsTest, Entropy) {
  EXPECT_DOUBLE_EQ(ShannonEntropy("aaaa"), 0.0);
  EXPECT_DOUBLE_EQ(ShannonEntropy("ab"), 1.0);
  EXPECT_GT(ShannonEntropy("Zq8vT3pLx9Wm2Rk7"), 3.5);
  EXPECT_TRUE(LooksLikePlaceholder("changeme"));
  EXPECT_TRUE(LooksLikePlaceholder("xxxxxxxxxxxxxxxx"));
  EXPECT_TRUE(LooksLikePlaceholder("<your-key>"));
  EXPECT_FALSE(LooksLikePlaceholder("Zq8vT3pLx9Wm2Rk7"));
}

TEST(ValidatorsTest, EntropyNarrowsToTheValue) {
  std::string text = "api_key = \"Zq8vT3pLx9Wm2Rk7Yh\" ok";
  size_t b = 0, e = text.size() - 4;  // the match ends at the closing quote
  ASSERT_TRUE(RunValidator("entropy", text, b, e));
  EXPECT_EQ(text.substr(b, e - b), "Zq8vT3pLx9Wm2Rk7Yh");
  std::string weak = "password = changeme_changeme_1";
  b = 0, e = weak.size();
  EXPECT_FALSE(RunValidator("entropy", weak, b, e));
}

TEST(ValidatorsTest, Jwt) {
  // {"alg":"HS256","typ":"JWT"}
  EXPECT_TRUE(JwtValid("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"));
  // {"typ":"JWT"}: no alg
  EXPECT_FALSE(JwtValid("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"));
  EXPECT_FALSE(JwtValid("eyJhbGciOiJIUzI1NiJ9.only-two"));
}

TEST(ValidatorsTest, PhoneRejectsDatesAndVersions) {
  EXPECT_TRUE(RunWhole("phone", "+44 20 7946 0958"));
  EXPECT_FALSE(RunWhole("phone", "2024-01-15"));
  EXPECT_FALSE(RunWhole("phone", "12345"));
  // One long digit run is a phone number, not a date (and its value does not overflow).
  EXPECT_TRUE(RunWhole("phone", "+14155550132"));
  std::string v = "v 202.555.0143";
  size_t b = 2, e = v.size();
  EXPECT_FALSE(RunValidator("phone", v, b, e));
}

TEST(ValidatorsTest, Ip) {
  EXPECT_TRUE(RunWhole("ipv4", "192.0.2.1"));
  EXPECT_FALSE(RunWhole("ipv4", "192.0.2.256"));
  EXPECT_FALSE(RunWhole("ipv4", "192.0.02.1"));
  std::string v = "version 1.2.3.4";
  size_t b = 8, e = v.size();
  EXPECT_FALSE(RunValidator("ipv4", v, b, e));
  EXPECT_TRUE(RunWhole("ipv6", "2001:db8::1"));
  EXPECT_TRUE(RunWhole("ipv6", "::1"));
  EXPECT_FALSE(RunWhole("ipv6", "a::b"));
  EXPECT_FALSE(RunWhole("ipv6", "12:30:45"));
}

TEST(ValidatorsTest, UrlPasswordNarrows) {
  std::string s = "postgres://app:Vr7#kq9Lm2@db.example.com";
  size_t b = 0, e = s.size();
  ASSERT_TRUE(RunValidator("url_password", s, b, e));
  EXPECT_EQ(s.substr(b, e - b), "Vr7#kq9Lm2");
  s = "postgres://app:password@db.example.com";
  b = 0, e = s.size();
  EXPECT_FALSE(RunValidator("url_password", s, b, e));
}

TEST(ValidatorsTest, DobNarrowsToTheDate) {
  std::string s = "born on March 3, 1990";
  size_t b = 0, e = s.size();
  ASSERT_TRUE(RunValidator("dob", s, b, e));
  EXPECT_EQ(s.substr(b, e - b), "March 3, 1990");
  s = "DOB: 31.02.1990";
  b = 0, e = s.size();
  ASSERT_TRUE(RunValidator("dob", s, b, e));
  EXPECT_EQ(s.substr(b, e - b), "31.02.1990");
  s = "DOB: 45.02.1990";
  b = 0, e = s.size();
  EXPECT_FALSE(RunValidator("dob", s, b, e));
}

TEST(ValidatorsTest, UnknownValidator) { EXPECT_EQ(FindValidator("nope"), nullptr); }

}  // namespace
}  // namespace warden::scanners
