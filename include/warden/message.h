// A Message is one piece of text that Warden screens: a prompt, a response, a tool call's
// arguments, a tool's result or a document, with the direction it travels in.
//
//   warden::Message m{.text = "Ignore all previous instructions", .role = "user",
//                     .direction = warden::Direction::kInput};
//   warden::Verdict v = guard.Check(m);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// Which way the text travels through the gateway. Policy rules match on it.
enum class Direction : uint8_t {
  kInput = 0,       // from the user or application towards the model
  kOutput = 1,      // from the model towards the user
  kToolCall = 2,    // a tool call the model asks for (name and JSON arguments)
  kToolResult = 3,  // what a tool returned, fed back to the model
};

// "input", "output", "tool_call", "tool_result".
std::string_view DirectionName(Direction d);
// Parses the names above; nullopt for anything else.
std::optional<Direction> ParseDirection(std::string_view name);
// The direction implied by an OpenAI chat role: user/system/developer -> input,
// assistant -> output, tool/function -> tool_result. nullopt for an unknown role.
std::optional<Direction> DirectionForRole(std::string_view role);

// Non-owning view of the text to check. The caller keeps the strings alive during Check().
struct Message {
  std::string_view text;
  std::string_view role;            // optional: "user", "assistant", "system", "tool"…
  Direction direction = Direction::kInput;
  std::string_view tool_name;       // set for tool calls and tool results
  std::string_view tool_arguments;  // JSON arguments of a tool call
  std::string_view tenant;          // optional tenant or key name, for rules that match it
};

}  // namespace warden
