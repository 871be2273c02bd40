// AXI4-Stream word with side channels, as hls::axis of Vitis HLS.
//
// Under Vitis HLS the real ap_axi_sdata.h is used. The ap_types headers that hls4ml ships
// for C-simulation without Vitis lack it, so this file then defines the fields that the
// generated code uses, with the same names and widths.
#ifndef ALTMIN_AXIS_H_
#define ALTMIN_AXIS_H_

#if defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#include <ap_axi_sdata.h>
#define ALTMIN_HAVE_AP_AXI_SDATA 1
#endif
#endif

#ifndef ALTMIN_HAVE_AP_AXI_SDATA
#include "ap_int.h"

namespace hls {

template <class T, unsigned WUser, unsigned WId, unsigned WDest>
struct axis {
    T data;
    ap_uint<(T::width + 7) / 8> keep;
    ap_uint<(T::width + 7) / 8> strb;
    ap_uint<1> last;
};

}  // namespace hls
#endif

#endif  // ALTMIN_AXIS_H_
