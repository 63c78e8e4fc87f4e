#include "warden/message.h"

namespace warden {

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kInput: return "input";
    case Direction::kOutput: return "output";
    case Direction::kToolCall: return "tool_call";
    case Direction::kToolResult: return "tool_result";
  }
  return "input";
}

std::optional<Direction> ParseDirection(std::string_view name) {
  if (name == "input") return Direction::kInput;
  if (name == "output") return Direction::kOutput;
  if (name == "tool_call") return Direction::kToolCall;
  if (name == "tool_result") return Direction::kToolResult;
  return std::nullopt;
}

std::optional<Direction> DirectionForRole(std::string_view role) {
  if (role == "user" || role == "system" || role == "developer") return Direction::kInput;
  if (role == "assistant") return Direction::kOutput;
  if (role == "tool" || role == "function") return Direction::kToolResult;
  return std::nullopt;
}

}  // namespace warden
