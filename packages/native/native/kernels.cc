// lockstep's matrix product on x86-64 vector units (AVX-512 or AVX2), a drop-in for the `matmul` of
// packages/core/src/wasm/matmul.wat: the same packed operands (A in panels of 4 rows, B in panels of 8
// columns, k steps each), the same row-major C, and the same bits. Every C element is one float32 sum
// over p in increasing order, each term multiplied then added (strict) or fused (relaxed, as
// f32x4.relaxed_madd is on a CPU with FMA). Only the number of elements computed at once differs from
// the WebAssembly kernel, and that cannot change a bit: IEEE 754 rounds each operation on its own.
// The build turns off floating-point contraction (binding.gyp), so the compiler cannot fuse the strict
// kernel's multiply and add behind our back.
#include <node_api.h>
#include <immintrin.h>

#include <cstdint>
#include <cstring>

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
  bool first;      // the first p block: C starts at zero
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

// The blocks one vector width uses: `rows` rows at a time (then 4), and column groups of `panels[g]`
// B panels, widest first.
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

void multiply(const Shape& shape, const int64_t groupPanels[3], const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
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
          const Operands o{a + (i / kPanelRows) * aPanel + kPanelRows * from, aPanel, b + (j / kPanelColumns) * bPanel + kPanelColumns * from, bPanel, c + i * n + j, n, steps, from == 0};
          (full ? shape.full[g] : shape.rest[g])(o);
          j += groupPanels[g] * kPanelColumns;
        }
        i += rows;
      }
    }
  }
}

// One instruction set's blocks; `matmul` is exported once per set the CPU has.
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

napi_value fail(napi_env env, const char* message) {
  napi_throw_range_error(env, nullptr, message);
  return nullptr;
}

// matmul(memory, a, b, c, m, k, n, fused): memory is a Float32Array over the whole kernel memory, a, b
// and c byte offsets in it, as the WebAssembly kernel takes them.
napi_value Matmul(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  void* variantData = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &variantData) != napi_ok || argc != 8) return fail(env, "matmul: expected 8 arguments");
  const Variant& variant = *static_cast<const Variant*>(variantData);
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type;
  // napi_get_typedarray_info, not napi_get_arraybuffer_info: the latter refuses a SharedArrayBuffer.
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float32_array)
    return fail(env, "matmul: the memory must be a Float32Array");
  int64_t values[6];
  for (int index = 0; index < 6; ++index)
    if (napi_get_value_int64(env, argv[index + 1], &values[index]) != napi_ok || values[index] < 0) return fail(env, "matmul: offsets and sizes must be non-negative integers");
  bool fused = false;
  if (napi_get_value_bool(env, argv[7], &fused) != napi_ok) return fail(env, "matmul: the last argument (fused) must be a boolean");
  const auto [aAt, bAt, cAt, m, k, n] = values;
  if (m % kPanelRows != 0 || n % kPanelColumns != 0) return fail(env, "matmul: m must be a multiple of 4 and n of 8");
  if (aAt % 4 != 0 || bAt % 4 != 0 || cAt % 4 != 0) return fail(env, "matmul: offsets must be multiples of 4 bytes");
  const int64_t floats = static_cast<int64_t>(length);
  if (aAt / 4 + m * k > floats || bAt / 4 + n * k > floats || cAt / 4 + m * n > floats) return fail(env, "matmul: an operand reaches past the memory's end");
  if (m == 0 || n == 0) return nullptr;
  float* base = static_cast<float*>(data);
  if (k == 0) {
    std::memset(base + cAt / 4, 0, sizeof(float) * m * n);
    return nullptr;
  }
  multiply(fused ? *variant.fused : *variant.strict, variant.groupPanels, base + aAt / 4, base + bAt / 4, base + cAt / 4, m, k, n);
  return nullptr;
}

// { isa, matmul } of one instruction set.
napi_value kernelsOf(napi_env env, const Variant& variant) {
  napi_value kernels, isa, matmul;
  napi_create_object(env, &kernels);
  napi_create_string_utf8(env, variant.name, NAPI_AUTO_LENGTH, &isa);
  napi_set_named_property(env, kernels, "isa", isa);
  napi_create_function(env, "matmul", NAPI_AUTO_LENGTH, Matmul, const_cast<Variant*>(&variant), &matmul);
  napi_set_named_property(env, kernels, "matmul", matmul);
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
