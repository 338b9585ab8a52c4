/* Fence header: the heap engine and the common helpers are compiled with
 * this directory ahead of the system's include path, so an
 * `#include <msgpack.h>` there stops the build: the heap knows nothing of
 * the wire (docs/architecture.md, "Which part may include which"). */
#error "msgpack is off limits here: the heap engine knows nothing of the wire"
