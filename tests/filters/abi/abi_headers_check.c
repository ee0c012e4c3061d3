/* The guest's filter runtime includes all three C ABIs of filters/abi: the
 * module ABI it speaks to modules, the ring ABI it speaks to the host and
 * the hvfilt device's registers. Their names must not collide (in C, struct
 * and enum tags share one namespace); this file only compiles while they do
 * not, and while their source kinds agree. */
#include "hvkit/filter_module.h"
#include "hvkit/filter_ring_abi.h"
#include "hvkit/hvfilt_abi.h"

_Static_assert((int)HVFILTER_ITEM_NETWORK == (int)HVFILTER_SOURCE_NETWORK, "network items");
_Static_assert((int)HVFILTER_ITEM_FILE == (int)HVFILTER_SOURCE_FILE, "file items");

int hvfilter_abi_headers_check(void) {
    return 0;
}
