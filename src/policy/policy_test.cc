#include "policy/policy.h"

#include <gtest/gtest.h>
