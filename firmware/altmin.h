// Layers, code steps and weight steps of hardware AltMin for a 5-n1-n2-1 network.
//
// Every function takes a CONFIG_T struct (written into parameters.h by altmin-hls) that
// carries the sizes, the ap_fixed types and the power-of-two step sizes. Products and
// sums are held in types wide enough to be exact. A value is rounded only where it is
// assigned to one of the config types, so the bits do not depend on the order of a sum,
// and they match the NumPy emulator of altmin-hls exactly.
#ifndef ALTMIN_H_
#define ALTMIN_H_

#include "ap_fixed.h"
#include "ap_int.h"

namespace altmin {

// Exact sum of one dense layer: acc[o] = b[o] + sum_i w[o][i] * a[i].
template <class in_T, class CONFIG_T, unsigned N_IN, unsigned N_OUT>
void dense(const in_T a[N_IN], const typename CONFIG_T::weight_t w[N_OUT][N_IN],
           const typename CONFIG_T::bias_t b[N_OUT], typename CONFIG_T::accum_t acc[N_OUT]) {
#pragma HLS INLINE
Outputs:
    for (unsigned o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
        typename CONFIG_T::accum_t sum = b[o];
    Inputs:
        for (unsigned i = 0; i < N_IN; i++) {
#pragma HLS UNROLL
            sum += w[o][i] * a[i];
        }
        acc[o] = sum;
    }
}

// Code of a layer: the exact sum rounded to code_t.
template <class CONFIG_T, unsigned N>
void to_code(const typename CONFIG_T::accum_t acc[N], typename CONFIG_T::code_t c[N]) {
#pragma HLS INLINE
Units:
    for (unsigned o = 0; o < N; o++) {
#pragma HLS UNROLL
        c[o] = acc[o];
    }
}

template <class CONFIG_T, unsigned N>
void relu(const typename CONFIG_T::code_t c[N], typename CONFIG_T::act_t h[N]) {
#pragma HLS INLINE
Units:
    for (unsigned o = 0; o < N; o++) {
#pragma HLS UNROLL
        h[o] = c[o] > 0 ? typename CONFIG_T::act_t(c[o]) : typename CONFIG_T::act_t(0);
    }
}

// Sigmoid from a table of CONFIG_T::table_size entries over [-table_range, table_range).
// The exact sum selects entry floor((z + range) * size / (2 range)), clamped to the table.
// With sigmoid_hls4ml (range 8) it selects size/2 + trunc(z * size / 16), as hls4ml's
// sigmoid does: to_int() truncates toward zero, so entry size/2 covers (-16/size, 16/size).
template <class CONFIG_T>
typename CONFIG_T::score_t sigmoid(typename CONFIG_T::accum_t z) {
#pragma HLS INLINE
    const typename CONFIG_T::accum_t range = CONFIG_T::table_range;
    const typename CONFIG_T::table_scale_t scale = CONFIG_T::table_scale;
    ap_uint<CONFIG_T::table_index_bits> index;
    if (z < -range) {
        index = 0;
    } else if (z >= range) {
        index = CONFIG_T::table_size - 1;
    } else if (CONFIG_T::sigmoid_hls4ml) {
        index = CONFIG_T::table_size / 2 + (z * scale).to_int();
    } else {
        index = ((z + range) * scale).to_uint();
    }
    return CONFIG_T::sigmoid_table[index];
}

// Forward pass of one track, keeping the codes for the learning step.
template <class CONFIG_T>
typename CONFIG_T::score_t forward(
    const typename CONFIG_T::input_t x[CONFIG_T::n_in],
    const typename CONFIG_T::weight_t w1[CONFIG_T::n_h1][CONFIG_T::n_in],
    const typename CONFIG_T::bias_t b1[CONFIG_T::n_h1],
    const typename CONFIG_T::weight_t w2[CONFIG_T::n_h2][CONFIG_T::n_h1],
    const typename CONFIG_T::bias_t b2[CONFIG_T::n_h2],
    const typename CONFIG_T::weight_t w3[1][CONFIG_T::n_h2],
    const typename CONFIG_T::bias_t b3[1], typename CONFIG_T::code_t c1[CONFIG_T::n_h1],
    typename CONFIG_T::code_t c2[CONFIG_T::n_h2]) {
#pragma HLS INLINE
    typename CONFIG_T::accum_t acc1[CONFIG_T::n_h1];
    typename CONFIG_T::act_t h1[CONFIG_T::n_h1];
    typename CONFIG_T::accum_t acc2[CONFIG_T::n_h2];
    typename CONFIG_T::act_t h2[CONFIG_T::n_h2];
    typename CONFIG_T::accum_t z[1];
    dense<typename CONFIG_T::input_t, CONFIG_T, CONFIG_T::n_in, CONFIG_T::n_h1>(x, w1, b1, acc1);
    to_code<CONFIG_T, CONFIG_T::n_h1>(acc1, c1);
    relu<CONFIG_T, CONFIG_T::n_h1>(c1, h1);
    dense<typename CONFIG_T::act_t, CONFIG_T, CONFIG_T::n_h1, CONFIG_T::n_h2>(h1, w2, b2, acc2);
    to_code<CONFIG_T, CONFIG_T::n_h2>(acc2, c2);
    relu<CONFIG_T, CONFIG_T::n_h2>(c2, h2);
    dense<typename CONFIG_T::act_t, CONFIG_T, CONFIG_T::n_h2, 1>(h2, w3, b3, z);
    return sigmoid<CONFIG_T>(z[0]);
}

// Output error p - y rounded to grad_t; the difference is exact in output_error_t.
template <class CONFIG_T>
typename CONFIG_T::grad_t output_error(typename CONFIG_T::score_t p, ap_uint<1> y) {
#pragma HLS INLINE
    typename CONFIG_T::output_error_t difference = p;
    if (y == 1) difference -= 1;
    return difference;
}

// Output of the top layer for a given top code: sigmoid(W3 relu(c2) + b3).
template <class CONFIG_T>
typename CONFIG_T::score_t output_from_code(
    const typename CONFIG_T::code_t c2[CONFIG_T::n_h2],
    const typename CONFIG_T::weight_t w3[1][CONFIG_T::n_h2],
    const typename CONFIG_T::bias_t b3[1]) {
#pragma HLS INLINE
    typename CONFIG_T::act_t h2[CONFIG_T::n_h2];
    typename CONFIG_T::accum_t z[1];
    relu<CONFIG_T, CONFIG_T::n_h2>(c2, h2);
    dense<typename CONFIG_T::act_t, CONFIG_T, CONFIG_T::n_h2, 1>(h2, w3, b3, z);
    return sigmoid<CONFIG_T>(z[0]);
}

// Second-layer code recomputed from a first-layer code: Q_code(W2 relu(c1) + b2).
template <class CONFIG_T>
void middle_from_code(const typename CONFIG_T::code_t c1[CONFIG_T::n_h1],
                      const typename CONFIG_T::weight_t w2[CONFIG_T::n_h2][CONFIG_T::n_h1],
                      const typename CONFIG_T::bias_t b2[CONFIG_T::n_h2],
                      typename CONFIG_T::code_t q2[CONFIG_T::n_h2]) {
#pragma HLS INLINE
    typename CONFIG_T::act_t h1[CONFIG_T::n_h1];
    typename CONFIG_T::accum_t acc2[CONFIG_T::n_h2];
    relu<CONFIG_T, CONFIG_T::n_h1>(c1, h1);
    dense<typename CONFIG_T::act_t, CONFIG_T, CONFIG_T::n_h1, CONFIG_T::n_h2>(h1, w2, b2, acc2);
    to_code<CONFIG_T, CONFIG_T::n_h2>(acc2, q2);
}

// Code steps of one track. On entry c1, c2 hold the forward codes c1_0, c2_0 and p the
// forward score; on return they hold the updated codes c1*, c2*.
template <class CONFIG_T>
void code_steps(ap_uint<1> y, typename CONFIG_T::score_t p,
                const typename CONFIG_T::weight_t w2[CONFIG_T::n_h2][CONFIG_T::n_h1],
                const typename CONFIG_T::bias_t b2[CONFIG_T::n_h2],
                const typename CONFIG_T::weight_t w3[1][CONFIG_T::n_h2],
                const typename CONFIG_T::bias_t b3[1], typename CONFIG_T::code_t c1[CONFIG_T::n_h1],
                typename CONFIG_T::code_t c2[CONFIG_T::n_h2]) {
#pragma HLS INLINE
    const typename CONFIG_T::top_rate_t top_rate = CONFIG_T::top_rate;
    const typename CONFIG_T::lower_rate_t lower_rate = CONFIG_T::lower_rate;
    typename CONFIG_T::code_t c2_forward[CONFIG_T::n_h2];
CopyTop:
    for (unsigned j = 0; j < CONFIG_T::n_h2; j++) {
#pragma HLS UNROLL
        c2_forward[j] = c2[j];
    }

TopSteps:
    for (unsigned k = 0; k < CONFIG_T::code_steps; k++) {
        if (k > 0) p = output_from_code<CONFIG_T>(c2, w3, b3);
        const typename CONFIG_T::grad_t e = output_error<CONFIG_T>(p, y);
    TopUnits:
        for (unsigned j = 0; j < CONFIG_T::n_h2; j++) {
#pragma HLS UNROLL
            if (c2[j] > 0) c2[j] = c2[j] - e * w3[0][j] * top_rate;
        }
    }

LowerSteps:
    for (unsigned k = 0; k < CONFIG_T::code_steps; k++) {
        typename CONFIG_T::code_t below[CONFIG_T::n_h2];
        if (k == 0) {
        CopyBelow:
            for (unsigned j = 0; j < CONFIG_T::n_h2; j++) {
#pragma HLS UNROLL
                below[j] = c2_forward[j];
            }
        } else {
            middle_from_code<CONFIG_T>(c1, w2, b2, below);
        }
        typename CONFIG_T::grad_t r2[CONFIG_T::n_h2];
    Residuals:
        for (unsigned j = 0; j < CONFIG_T::n_h2; j++) {
#pragma HLS UNROLL
            r2[j] = below[j] - c2[j];
        }
    LowerUnits:
        for (unsigned i = 0; i < CONFIG_T::n_h1; i++) {
#pragma HLS UNROLL
            typename CONFIG_T::backsum_t back = 0;
        BackSum:
            for (unsigned j = 0; j < CONFIG_T::n_h2; j++) {
#pragma HLS UNROLL
                back += r2[j] * w2[j][i];
            }
            if (c1[i] > 0) c1[i] = c1[i] - back * lower_rate;
        }
    }
}

// Adds one track's local-loss gradients to the sums, given its updated codes.
template <class CONFIG_T>
void accumulate_gradients(
    const typename CONFIG_T::input_t x[CONFIG_T::n_in], ap_uint<1> y,
    const typename CONFIG_T::code_t c1_forward[CONFIG_T::n_h1],
    const typename CONFIG_T::code_t c1[CONFIG_T::n_h1],
    const typename CONFIG_T::code_t c2[CONFIG_T::n_h2],
    const typename CONFIG_T::weight_t w2[CONFIG_T::n_h2][CONFIG_T::n_h1],
    const typename CONFIG_T::bias_t b2[CONFIG_T::n_h2],
    const typename CONFIG_T::weight_t w3[1][CONFIG_T::n_h2],
    const typename CONFIG_T::bias_t b3[1],
    typename CONFIG_T::gsum1_t g1[CONFIG_T::n_h1][CONFIG_T::n_in],
    typename CONFIG_T::bsum_t gb1[CONFIG_T::n_h1],
    typename CONFIG_T::gsum2_t g2[CONFIG_T::n_h2][CONFIG_T::n_h1],
    typename CONFIG_T::bsum_t gb2[CONFIG_T::n_h2],
    typename CONFIG_T::gsum3_t g3[1][CONFIG_T::n_h2], typename CONFIG_T::bsum_t gb3[1]) {
#pragma HLS INLINE
    typename CONFIG_T::act_t h1[CONFIG_T::n_h1];
    typename CONFIG_T::act_t h2[CONFIG_T::n_h2];
    relu<CONFIG_T, CONFIG_T::n_h1>(c1, h1);
    relu<CONFIG_T, CONFIG_T::n_h2>(c2, h2);

    // Layer 3 fits the label from relu(c2*) by binary cross-entropy.
    const typename CONFIG_T::grad_t e3 = output_error<CONFIG_T>(output_from_code<CONFIG_T>(c2, w3, b3), y);
Layer3:
    for (unsigned j = 0; j < CONFIG_T::n_h2; j++) {
#pragma HLS UNROLL
        g3[0][j] += e3 * h2[j];
    }
    gb3[0] += e3;

    // Layer 2 fits c2* from relu(c1*) by squared error.
    typename CONFIG_T::code_t q2[CONFIG_T::n_h2];
    middle_from_code<CONFIG_T>(c1, w2, b2, q2);
Layer2:
    for (unsigned j = 0; j < CONFIG_T::n_h2; j++) {
#pragma HLS UNROLL
        const typename CONFIG_T::grad_t r2 = q2[j] - c2[j];
    Layer2Inputs:
        for (unsigned i = 0; i < CONFIG_T::n_h1; i++) {
#pragma HLS UNROLL
            g2[j][i] += r2 * h1[i];
        }
        gb2[j] += r2;
    }

    // Layer 1 fits c1* from x by squared error; W1 x + b1 is the forward code c1_0.
Layer1:
    for (unsigned i = 0; i < CONFIG_T::n_h1; i++) {
#pragma HLS UNROLL
        const typename CONFIG_T::grad_t r1 = c1_forward[i] - c1[i];
    Layer1Inputs:
        for (unsigned f = 0; f < CONFIG_T::n_in; f++) {
#pragma HLS UNROLL
            g1[i][f] += r1 * x[f];
        }
        gb1[i] += r1;
    }
}

// Plain SGD step of one layer, W <- Q_weight(W - 2^-s G), then clears the sums.
template <class CONFIG_T, class gsum_T, unsigned N_IN, unsigned N_OUT>
void weight_step(typename CONFIG_T::weight_t w[N_OUT][N_IN], typename CONFIG_T::bias_t b[N_OUT],
                 gsum_T g[N_OUT][N_IN], typename CONFIG_T::bsum_t gb[N_OUT]) {
#pragma HLS INLINE
    const typename CONFIG_T::weight_rate_t rate = CONFIG_T::weight_rate;
Outputs:
    for (unsigned o = 0; o < N_OUT; o++) {
#pragma HLS UNROLL
    Inputs:
        for (unsigned i = 0; i < N_IN; i++) {
#pragma HLS UNROLL
            w[o][i] = w[o][i] - g[o][i] * rate;
            g[o][i] = 0;
        }
        b[o] = b[o] - gb[o] * rate;
        gb[o] = 0;
    }
}

}  // namespace altmin

#endif  // ALTMIN_H_
