// hiredis 0.14 (Debian's libhiredis-dev): only its RESP reader and command formatter are used,
// on buffers; the proxy's own libuv streams carry the bytes (and TLS, which 0.14 lacks).
#include <hiredis/hiredis.h>
