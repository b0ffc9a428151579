#pragma once

namespace ar::testing {

// A TCP port on 127.0.0.1 that was free when asked (bound to port 0, then released).
int FreeLoopbackPort();

}  // namespace ar::testing
