// Runs the scripted upstream on its own: prints its port on stdout and serves until stdin closes
// or SIGTERM. Used by tests/e2e and by the measurements in docs/gateway-performance.md.
#include <unistd.h>

#include <iostream>

#include "scripted_upstream.h"

int main() {
  warden::gateway::testing::ScriptedUpstream upstream;
  std::cout << upstream.port() << std::endl;
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
