// lockstep's matrix product on x86-64 vector units (AVX-512, or AVX2 with FMA): drop-ins for the `pack`
// and `matmul` of packages/core/src/wasm/matmul.wat, with the same bits. `pack` lays the operands out
// as that kernel does (A in panels of 4 rows, B in panels of 8 columns, k steps each), and only moves
// values. `matmul` writes the same row-major C: every C element is one float32 sum over p in
// increasing order, each term multiplied then added (strict) or fused (relaxed, as
// f32x4.relaxed_madd is on a CPU with FMA). Only the number of elements computed at once differs from
// the WebAssembly kernel, and that cannot change a bit: IEEE 754 rounds each operation on its own.
// The build turns off floating-point contraction (binding.gyp), so the compiler cannot fuse the strict
// kernel's multiply and add behind our back.
#include <node_api.h>
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace {

constexpr int64_t kPanelRows = 4;
constexpr int64_t kPanelColumns = 8;
// The WebAssembly kernel's cache blocks: columns in blocks of 128 and p in blocks of 256 steps, a C
// block stored and loaded back between p blocks (float32 partial sums, so nothing is rounded twice).
constexpr int64_t kColumnBlock = 128;
constexpr int64_t kStepBlock = 256;

struct Operands {
  const float* a;  // the first A panel of the row block, at step `from`
  int64_t aPanel;  // floats from one A panel to the next
  const float* b;  // the first B panel of the column group, at step `from`
  int64_t bPanel;
  float* c;        // C's element (first row, first column)
  int64_t cRow;    // floats from one C row to the next
  int64_t steps;
  bool first;      // the first p block of a product that carries no sums: C starts at zero
};

// R rows (R / 4 A panels) by Z * 16 columns (2 * Z B panels), each 16 columns one zmm register.
template <int R, int Z, bool Fused>
__attribute__((target("avx512f"))) void block512(const Operands& o) {
  __m512 acc[R][Z];
  for (int r = 0; r < R; ++r)
    for (int z = 0; z < Z; ++z) acc[r][z] = o.first ? _mm512_setzero_ps() : _mm512_loadu_ps(o.c + r * o.cRow + 16 * z);
  for (int64_t p = 0; p < o.steps; ++p) {
    __m512 b[Z];
    for (int z = 0; z < Z; ++z) {
      const __m256 low = _mm256_loadu_ps(o.b + (2 * z) * o.bPanel + 8 * p);
      const __m256 high = _mm256_loadu_ps(o.b + (2 * z + 1) * o.bPanel + 8 * p);
      b[z] = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(low)), _mm256_castps_pd(high), 1));
    }
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(o.a[(r / 4) * o.aPanel + 4 * p + r % 4]);
      for (int z = 0; z < Z; ++z)
        acc[r][z] = Fused ? _mm512_fmadd_ps(x, b[z], acc[r][z]) : _mm512_add_ps(acc[r][z], _mm512_mul_ps(x, b[z]));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int z = 0; z < Z; ++z) _mm512_storeu_ps(o.c + r * o.cRow + 16 * z, acc[r][z]);
}

// R rows by P * 8 columns, each 8 columns one ymm register (one B panel).
template <int R, int P, bool Fused>
__attribute__((target("avx2,fma"))) void block256(const Operands& o) {
  __m256 acc[R][P];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < P; ++q) acc[r][q] = o.first ? _mm256_setzero_ps() : _mm256_loadu_ps(o.c + r * o.cRow + 8 * q);
  for (int64_t p = 0; p < o.steps; ++p) {
    __m256 b[P];
    for (int q = 0; q < P; ++q) b[q] = _mm256_loadu_ps(o.b + q * o.bPanel + 8 * p);
    for (int r = 0; r < R; ++r) {
      const __m256 x = _mm256_set1_ps(o.a[(r / 4) * o.aPanel + 4 * p + r % 4]);
      for (int q = 0; q < P; ++q)
        acc[r][q] = Fused ? _mm256_fmadd_ps(x, b[q], acc[r][q]) : _mm256_add_ps(acc[r][q], _mm256_mul_ps(x, b[q]));
    }
  }
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < P; ++q) _mm256_storeu_ps(o.c + r * o.cRow + 8 * q, acc[r][q]);
}

using Block = void (*)(const Operands&);

// The blocks one vector width uses: `rows` rows at a time (then 4), and, for each column group
// (`Variant::groupPanels`, widest first), the block of full rows and the block of the last 4.
struct Shape {
  int64_t rows;
  Block full[3];   // rows x groups of 4, 2, 1 panels
  Block rest[3];   // 4 rows x the same groups
};

template <bool Fused>
constexpr Shape kAvx512 = {
    8,
    {block512<8, 2, Fused>, block512<8, 1, Fused>, block256<8, 1, Fused>},
    {block512<4, 2, Fused>, block512<4, 1, Fused>, block256<4, 1, Fused>},
};
template <bool Fused>
constexpr Shape kAvx2 = {
    4,
    {block256<4, 3, Fused>, block256<4, 2, Fused>, block256<4, 1, Fused>},
    {block256<4, 3, Fused>, block256<4, 2, Fused>, block256<4, 1, Fused>},
};

void multiply(const Shape& shape, const int64_t groupPanels[3], const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n, bool carry) {
  const int64_t aPanel = kPanelRows * k;
  const int64_t bPanel = kPanelColumns * k;
  for (int64_t firstColumn = 0; firstColumn < n; firstColumn += kColumnBlock) {
    const int64_t columnsEnd = firstColumn + kColumnBlock < n ? firstColumn + kColumnBlock : n;
    for (int64_t from = 0; from < k; from += kStepBlock) {
      const int64_t steps = k - from < kStepBlock ? k - from : kStepBlock;
      for (int64_t i = 0; i < m;) {
        const bool full = m - i >= shape.rows;
        const int64_t rows = full ? shape.rows : kPanelRows;
        for (int64_t j = firstColumn; j < columnsEnd;) {
          int g = 0;
          while (columnsEnd - j < groupPanels[g] * kPanelColumns) ++g;
          const Operands o{a + (i / kPanelRows) * aPanel + kPanelRows * from, aPanel, b + (j / kPanelColumns) * bPanel + kPanelColumns * from, bPanel, c + i * n + j, n, steps, from == 0 && !carry};
          (full ? shape.full[g] : shape.rest[g])(o);
          j += groupPanels[g] * kPanelColumns;
        }
        i += rows;
      }
    }
  }
}

// One panel of `pack` for lines whose values lie side by side (step stride 1): `present` of its Width
// lines exist, the rest are zeros. Eight steps of the Width lines are loaded, transposed in registers
// (8 x 8, or 4 x 8 as two 4 x 4 halves), and stored as eight steps of the panel.
template <int64_t Width>
__attribute__((target("avx2"))) void transposePanel(const float* in, int64_t present, int64_t k, int64_t lineStride, float* out) {
  constexpr int64_t kSteps = 8;
  int64_t p = 0;
  for (; p + kSteps <= k; p += kSteps) {
    __m256 row[8];
    for (int64_t w = 0; w < 8; ++w) row[w] = w < Width && w < present ? _mm256_loadu_ps(in + w * lineStride + p) : _mm256_setzero_ps();
    // Interleave pairs, then quads, then halves: row w's value at step s ends in lane w of vector s.
    const __m256 a0 = _mm256_unpacklo_ps(row[0], row[1]), a1 = _mm256_unpackhi_ps(row[0], row[1]);
    const __m256 a2 = _mm256_unpacklo_ps(row[2], row[3]), a3 = _mm256_unpackhi_ps(row[2], row[3]);
    const __m256 a4 = _mm256_unpacklo_ps(row[4], row[5]), a5 = _mm256_unpackhi_ps(row[4], row[5]);
    const __m256 a6 = _mm256_unpacklo_ps(row[6], row[7]), a7 = _mm256_unpackhi_ps(row[6], row[7]);
    const __m256 b0 = _mm256_shuffle_ps(a0, a2, 0x44), b1 = _mm256_shuffle_ps(a0, a2, 0xEE);
    const __m256 b2 = _mm256_shuffle_ps(a1, a3, 0x44), b3 = _mm256_shuffle_ps(a1, a3, 0xEE);
    const __m256 b4 = _mm256_shuffle_ps(a4, a6, 0x44), b5 = _mm256_shuffle_ps(a4, a6, 0xEE);
    const __m256 b6 = _mm256_shuffle_ps(a5, a7, 0x44), b7 = _mm256_shuffle_ps(a5, a7, 0xEE);
    // b0..b3 hold steps (0,4), (1,5), (2,6), (3,7) of lines 0-3 in their 128-bit halves; b4..b7 of lines 4-7.
    const __m256 low[4] = {b0, b1, b2, b3};
    const __m256 high[4] = {b4, b5, b6, b7};
    for (int s = 0; s < 4; ++s) {
      if (Width == 8) {
        _mm256_storeu_ps(out + (p + s) * 8, _mm256_permute2f128_ps(low[s], high[s], 0x20));
        _mm256_storeu_ps(out + (p + s + 4) * 8, _mm256_permute2f128_ps(low[s], high[s], 0x31));
      } else {
        _mm_storeu_ps(out + (p + s) * 4, _mm256_castps256_ps128(low[s]));
        _mm_storeu_ps(out + (p + s + 4) * 4, _mm256_extractf128_ps(low[s], 1));
      }
    }
  }
  for (; p < k; ++p)
    for (int64_t w = 0; w < Width; ++w) out[p * Width + w] = w < present ? in[w * lineStride + p] : 0.0f;
}

// matmul.wat's `pack`: panel q holds, for each step p < k, the values of lines q * Width .. q * Width +
// Width - 1 at p (line l's value at p is src[l * lineStride + p * stepStride]); lines past `lines` are
// 0. Only values move, so the bits are the WebAssembly pack's.
template <int64_t Width>
void pack(const float* src, int64_t lines, int64_t k, int64_t lineStride, int64_t stepStride, float* dst) {
  const int64_t full = lines / Width;
  if (lineStride == 1) {
    // A step's values of adjacent panels lie side by side: a block of panels is filled step after
    // step, reading each step's values in one sweep rather than one page per step and panel.
    constexpr int64_t kBlock = 16;
    for (int64_t first = 0; first < full; first += kBlock) {
      const int64_t end = first + kBlock < full ? first + kBlock : full;
      for (int64_t p = 0; p < k; ++p) {
        const float* in = src + p * stepStride + first * Width;
        for (int64_t q = first; q < end; ++q, in += Width) std::memcpy(dst + (q * k + p) * Width, in, sizeof(float) * Width);
      }
    }
  } else if (stepStride == 1) {
    // Each line's values lie side by side: a panel's lines are read together, eight steps at a time,
    // and transposed in registers. The last panel's missing lines read as zeros.
    for (int64_t q = 0; q * Width < lines; ++q) transposePanel<Width>(src + q * Width * lineStride, lines - q * Width, k, lineStride, dst + q * Width * k);
    return;
  } else {
    for (int64_t q = 0; q < full; ++q)
      for (int64_t p = 0; p < k; ++p)
        for (int64_t w = 0; w < Width; ++w) dst[(q * k + p) * Width + w] = src[(q * Width + w) * lineStride + p * stepStride];
  }
  // The last panel, when `lines` is not a multiple of Width: its lines, then zeros.
  const int64_t rest = lines - full * Width;
  if (rest == 0) return;
  for (int64_t p = 0; p < k; ++p)
    for (int64_t w = 0; w < Width; ++w) dst[(full * k + p) * Width + w] = w < rest ? src[(full * Width + w) * lineStride + p * stepStride] : 0.0f;
}

// One instruction set's blocks; `matmul` and `pack` are exported once per set the CPU has.
struct Variant {
  const char* name;
  const Shape* strict;
  const Shape* fused;
  const int64_t* groupPanels;
};

constexpr int64_t kAvx512Groups[3] = {4, 2, 1};
constexpr int64_t kAvx2Groups[3] = {3, 2, 1};
const Variant kAvx512Variant{"avx512", &kAvx512<false>, &kAvx512<true>, kAvx512Groups};
const Variant kAvx2Variant{"avx2", &kAvx2<false>, &kAvx2<true>, kAvx2Groups};

napi_value fail(napi_env env, const std::string& message) {
  napi_throw_range_error(env, nullptr, message.c_str());
  return nullptr;
}

constexpr size_t kArguments = 9;

// One call's arguments: the kernel memory (a Float32Array over all of it, first), then non-negative
// integers (byte offsets, sizes, strides in floats), then, for matmul, two booleans.
struct Call {
  napi_value argv[kArguments];
  void* variant = nullptr;
  float* memory = nullptr;
  int64_t floats = 0;
  int64_t integers[kArguments - 1] = {};
};

// Reads a call of `arguments` arguments and the `count` integers after its memory; false (with the
// call's one-line RangeError thrown) when an argument is missing or of the wrong kind. `integersAre`
// names them in that error.
bool readCall(napi_env env, napi_callback_info info, const std::string& name, size_t arguments, size_t count, const char* integersAre, Call& call) {
  size_t argc = kArguments;
  if (napi_get_cb_info(env, info, &argc, call.argv, nullptr, &call.variant) != napi_ok || argc != arguments) {
    fail(env, name + ": expected " + std::to_string(arguments) + " arguments");
    return false;
  }
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type;
  // napi_get_typedarray_info, not napi_get_arraybuffer_info: the latter refuses a SharedArrayBuffer.
  if (napi_get_typedarray_info(env, call.argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float32_array) {
    fail(env, name + ": the memory must be a Float32Array");
    return false;
  }
  call.memory = static_cast<float*>(data);
  call.floats = static_cast<int64_t>(length);
  for (size_t index = 0; index < count; ++index) {
    if (napi_get_value_int64(env, call.argv[index + 1], &call.integers[index]) != napi_ok || call.integers[index] < 0) {
      fail(env, name + ": " + integersAre + " must be non-negative integers");
      return false;
    }
  }
  return true;
}

// matmul(memory, a, b, c, m, k, n, fused, carry): a, b and c byte offsets in the memory, as the
// WebAssembly kernel takes them; with `carry`, C's sums go on from what it holds.
napi_value Matmul(napi_env env, napi_callback_info info) {
  Call call;
  if (!readCall(env, info, "matmul", 9, 6, "offsets and sizes", call)) return nullptr;
  const Variant& variant = *static_cast<const Variant*>(call.variant);
  bool fused = false;
  bool carry = false;
  if (napi_get_value_bool(env, call.argv[7], &fused) != napi_ok || napi_get_value_bool(env, call.argv[8], &carry) != napi_ok) {
    return fail(env, "matmul: the last two arguments (fused, carry) must be booleans");
  }
  const int64_t* x = call.integers;
  const int64_t aAt = x[0], bAt = x[1], cAt = x[2], m = x[3], k = x[4], n = x[5];
  if (m % kPanelRows != 0 || n % kPanelColumns != 0) return fail(env, "matmul: m must be a multiple of 4 and n of 8");
  if (aAt % 4 != 0 || bAt % 4 != 0 || cAt % 4 != 0) return fail(env, "matmul: offsets must be multiples of 4 bytes");
  if (aAt / 4 + m * k > call.floats || bAt / 4 + n * k > call.floats || cAt / 4 + m * n > call.floats) return fail(env, "matmul: an operand reaches past the memory's end");
  if (m == 0 || n == 0) return nullptr;
  float* base = call.memory;
  if (k == 0) {
    if (!carry) std::memset(base + cAt / 4, 0, sizeof(float) * m * n);
    return nullptr;
  }
  multiply(fused ? *variant.fused : *variant.strict, variant.groupPanels, base + aAt / 4, base + bAt / 4, base + cAt / 4, m, k, n, carry);
  return nullptr;
}

// pack(memory, src, lines, k, width, lineStride, stepStride, dst): matmul.wat's `pack`; src and dst
// are byte offsets in the memory, strides in floats, and width 4 or 8. Every variant's CPU has AVX2.
napi_value Pack(napi_env env, napi_callback_info info) {
  Call call;
  if (!readCall(env, info, "pack", 8, 7, "offsets, sizes and strides", call)) return nullptr;
  const int64_t* x = call.integers;
  const int64_t srcAt = x[0], lines = x[1], k = x[2], width = x[3], lineStride = x[4], stepStride = x[5], dstAt = x[6];
  if (width != 4 && width != 8) return fail(env, "pack: width must be 4 or 8");
  if (srcAt % 4 != 0 || dstAt % 4 != 0) return fail(env, "pack: offsets must be multiples of 4 bytes");
  const int64_t panels = (lines + width - 1) / width;
  const bool srcFits = lines == 0 || k == 0 || srcAt / 4 + (lines - 1) * lineStride + (k - 1) * stepStride < call.floats;
  if (!srcFits || dstAt / 4 + panels * width * k > call.floats) return fail(env, "pack: an operand reaches past the memory's end");
  float* base = call.memory;
  if (width == 4) pack<4>(base + srcAt / 4, lines, k, lineStride, stepStride, base + dstAt / 4);
  else pack<8>(base + srcAt / 4, lines, k, lineStride, stepStride, base + dstAt / 4);
  return nullptr;
}

// { isa, matmul, pack } of one instruction set.
napi_value kernelsOf(napi_env env, const Variant& variant) {
  napi_value kernels, isa, matmul;
  napi_create_object(env, &kernels);
  napi_create_string_utf8(env, variant.name, NAPI_AUTO_LENGTH, &isa);
  napi_set_named_property(env, kernels, "isa", isa);
  napi_create_function(env, "matmul", NAPI_AUTO_LENGTH, Matmul, const_cast<Variant*>(&variant), &matmul);
  napi_set_named_property(env, kernels, "matmul", matmul);
  napi_value packFunction;
  napi_create_function(env, "pack", NAPI_AUTO_LENGTH, Pack, const_cast<Variant*>(&variant), &packFunction);
  napi_set_named_property(env, kernels, "pack", packFunction);
  return kernels;
}

// exports.variants: the kernels of every instruction set this CPU has, widest first (none: empty).
napi_value Init(napi_env env, napi_value exports) {
  __builtin_cpu_init();
  napi_value variants;
  napi_create_array(env, &variants);
  uint32_t count = 0;
  if (__builtin_cpu_supports("avx512f")) napi_set_element(env, variants, count++, kernelsOf(env, kAvx512Variant));
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) napi_set_element(env, variants, count++, kernelsOf(env, kAvx2Variant));
  napi_set_named_property(env, exports, "variants", variants);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }
