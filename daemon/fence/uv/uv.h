/* Fence header: the heap engine, the common helpers and the codec are
 * compiled with this directory ahead of the system's include path, so an
 * `#include <uv.h>` there stops the build. Only server/ and persist/ talk
 * to libuv (docs/architecture.md, "Which part may include which"). */
#error "libuv is off limits here: only daemon/server and daemon/persist may include <uv.h>"
