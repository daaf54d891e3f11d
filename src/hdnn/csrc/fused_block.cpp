// All sub-steps y <- y + P_s tanh(W_s y + b_s) of a block, fused per tile of pixels.
//
// x is (B, nf, HW), channel-major. A tile (one vector register of pixels of one image, all nf
// channels) stays in registers/L1 through all S sub-steps, so the state is read and written once.
// The inner loops run over the tile's pixels (the vector lanes). The backward pass recomputes the
// tile's forward (nothing is stored between the passes).
//
// Threads (OpenMP through at::parallel_for) take whole chunks of up to CHUNK pixels of one image.
// The weight gradients are summed per chunk, pixel p of a chunk into partial sum p % SUM_LANES
// whatever the tile width, and the chunks' sums are added in chunk order by one thread: the bits
// do not depend on the thread count.
//
// Only the ATen headers it needs and an operator registration (torch.ops.hdnn_fused), no
// torch/extension.h: compiling takes a quarter of the time.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace {

// A tile is one register of the vector unit the build targets: a tile of two registers spills.
#if defined(__AVX512F__)
constexpr int64_t VEC_BYTES = 64;
#elif defined(__AVX__)
constexpr int64_t VEC_BYTES = 32;
#else  // SSE, NEON and the rest
constexpr int64_t VEC_BYTES = 16;
#endif
#ifdef _OPENMP
constexpr int64_t OPENMP = 1;
#else
constexpr int64_t OPENMP = 0;
#endif
constexpr int64_t MAX_NF = 32;     // the generic kernel's register arrays (the Python side checks)
constexpr int64_t SUM_LANES = 16;  // partial sums per weight and chunk: the widest tile (16 floats)
constexpr int64_t CHUNK = 1024;    // pixels per chunk, a multiple of SUM_LANES: one 28 x 28 image

template <typename scalar_t>
struct Vec {
  static constexpr int64_t T = VEC_BYTES / sizeof(scalar_t);  // pixels per tile
  typedef scalar_t type __attribute__((vector_size(VEC_BYTES)));
};

template <typename scalar_t>
struct Steps {
  const scalar_t* W;  // (S, r, nf)
  const scalar_t* b;  // (S, r)
  const scalar_t* P;  // (S, nf, r)
  int64_t S, r, nf;
};

struct Chunk {  // chunk k of x (B, nf, HW): up to CHUNK pixels of one image, from base
  int64_t base, len;
  Chunk(int64_t k, int64_t nf, int64_t HW) {
    const int64_t per_image = (HW + CHUNK - 1) / CHUNK, p0 = (k % per_image) * CHUNK;
    len = std::min(CHUNK, HW - p0);
    base = k / per_image * nf * HW + p0;
  }
  static int64_t count(int64_t B, int64_t HW) { return B * ((HW + CHUNK - 1) / CHUNK); }
};

// Tile j of a chunk: its pixels base + j T ... (fewer at the chunk's end).
template <typename scalar_t>
struct Tile {
  static constexpr int64_t T = Vec<scalar_t>::T;
  int64_t base, len;
  Tile(const Chunk& chunk, int64_t j) : base(chunk.base + j * T), len(std::min(T, chunk.len - j * T)) {}
  template <typename vec>
  void load(const scalar_t* x, int64_t nf, int64_t HW, vec* y) const {
    for (int64_t c = 0; c < nf; ++c) {
      y[c] = vec{};  // padded lanes: zero; their zero gradient keeps them out of the sums
      std::memcpy(&y[c], x + base + c * HW, len * sizeof(scalar_t));
    }
  }
  template <typename vec>
  void store(const vec* y, int64_t nf, int64_t HW, scalar_t* out) const {
    for (int64_t c = 0; c < nf; ++c) std::memcpy(out + base + c * HW, &y[c], len * sizeof(scalar_t));
  }
};

template <typename scalar_t>
inline int64_t n_tiles(const Chunk& chunk) {
  return (chunk.len + Vec<scalar_t>::T - 1) / Vec<scalar_t>::T;
}

template <typename vec, typename scalar_t>
inline vec vtanh(vec a) {
  constexpr int64_t T = Vec<scalar_t>::T;
  scalar_t buf[T];
  std::memcpy(buf, &a, sizeof a);
#pragma omp simd
  for (int64_t t = 0; t < T; ++t) buf[t] = std::tanh(buf[t]);  // glibc's vector tanh (libmvec)
  std::memcpy(&a, buf, sizeof a);
  return a;
}

// float: Eigen's rational approximation (error under 3e-7, float's precision), 1.6× faster than
// libmvec's tanhf, which takes half the forward pass's time.
template <>
inline Vec<float>::type vtanh<Vec<float>::type, float>(Vec<float>::type x) {
  using vec = Vec<float>::type;
  const float clamp = 7.90531110763549805f;  // tanh is ±1 in float beyond it
  x = x < -clamp ? vec{} - clamp : x;
  x = x > clamp ? vec{} + clamp : x;
  const vec x2 = x * x;
  vec p = vec{} - 2.76076847742355e-16f;
  for (float c : {2.00018790482477e-13f, -8.60467152213735e-11f, 5.12229709037114e-08f,
                  1.48572235717979e-05f, 6.37261928875436e-04f, 4.89352455891786e-03f})
    p = p * x2 + c;
  vec q = vec{} + 1.19825839466702e-06f;
  for (float c : {1.18534705686654e-04f, 2.26843463243900e-03f, 4.89352518554385e-03f}) q = q * x2 + c;
  return x * p / q;
}

// One sub-step on a tile y (nf vectors), in place; th (r vectors) receives tanh(W y + b).
// NF, R > 0: sizes known at compile time (Table 2's nf = 8), the tile stays in registers.
template <int64_t NF, int64_t R, typename scalar_t, typename vec>
inline void substep(const Steps<scalar_t>& st, int64_t s, vec* __restrict y, vec* __restrict th) {
  const int64_t r = R ? R : st.r, nf = NF ? NF : st.nf;
  const scalar_t* W = st.W + s * r * nf;
  const scalar_t* b = st.b + s * r;
  const scalar_t* P = st.P + s * nf * r;
  vec a[R ? R : MAX_NF];
  for (int64_t i = 0; i < r; ++i) a[i] = vec{} + b[i];
  for (int64_t c = 0; c < nf; ++c)
    for (int64_t i = 0; i < r; ++i) a[i] += W[i * nf + c] * y[c];
  for (int64_t i = 0; i < r; ++i) th[i] = vtanh<vec, scalar_t>(a[i]);
  for (int64_t c = 0; c < nf; ++c)
    for (int64_t i = 0; i < r; ++i) y[c] += P[c * r + i] * th[i];
}

template <int64_t NF, int64_t R, typename scalar_t>
void forward_impl(const scalar_t* x, const Steps<scalar_t>& st, int64_t B, int64_t HW, scalar_t* out) {
  using vec = typename Vec<scalar_t>::type;
  const int64_t nf = st.nf;
  at::parallel_for(0, Chunk::count(B, HW), 1, [&](int64_t begin, int64_t end) {
    vec y[NF ? NF : MAX_NF], th[R ? R : MAX_NF];
    for (int64_t k = begin; k < end; ++k) {
      const Chunk chunk(k, nf, HW);
      for (int64_t j = 0; j < n_tiles<scalar_t>(chunk); ++j) {
        const Tile<scalar_t> tile(chunk, j);
        tile.load(x, nf, HW, y);
        for (int64_t s = 0; s < st.S; ++s) substep<NF, R>(st, s, y, th);
        tile.store(y, nf, HW, out);
      }
    }
  });
}

// partials (chunks, n_params): each chunk's sums of dW, db, dP over its pixels, in double.
template <int64_t NF, int64_t R, typename scalar_t>
void backward_impl(const scalar_t* x, const scalar_t* gout, const Steps<scalar_t>& st, int64_t B,
                   int64_t HW, scalar_t* gx, double* partials, int64_t n_params) {
  using vec = typename Vec<scalar_t>::type;
  constexpr int64_t T = Vec<scalar_t>::T, SETS = SUM_LANES / T;
  static_assert(SUM_LANES % T == 0, "a tile must divide SUM_LANES");
  const int64_t nf = NF ? NF : st.nf, r = R ? R : st.r, S = st.S;
  at::parallel_for(0, Chunk::count(B, HW), 1, [&](int64_t begin, int64_t end) {
    // SETS sets of per-lane sums of dW, db, dP (tile j of a chunk adds into set j % SETS), the
    // states before every sub-step and every sub-step's tanh for one tile.
    std::vector<vec> acc(SETS * n_params), ys((S + 1) * nf), ths(S * r);
    vec g[NF ? NF : MAX_NF], gth[R ? R : MAX_NF];
    for (int64_t k = begin; k < end; ++k) {
      const Chunk chunk(k, nf, HW);
      std::fill(acc.begin(), acc.end(), vec{});
      for (int64_t j = 0; j < n_tiles<scalar_t>(chunk); ++j) {
        const Tile<scalar_t> tile(chunk, j);
        vec* dW = acc.data() + j % SETS * n_params;
        vec* db = dW + S * r * nf;
        vec* dP = db + S * r;
        tile.load(x, nf, HW, ys.data());
        for (int64_t s = 0; s < S; ++s) {
          std::copy_n(ys.data() + s * nf, nf, ys.data() + (s + 1) * nf);
          substep<NF, R>(st, s, ys.data() + (s + 1) * nf, ths.data() + s * r);
        }
        tile.load(gout, nf, HW, g);
        for (int64_t s = S - 1; s >= 0; --s) {
          const vec* y = ys.data() + s * nf;
          const vec* th = ths.data() + s * r;
          const scalar_t* W = st.W + s * r * nf;
          const scalar_t* P = st.P + s * nf * r;
          vec* dWs = dW + s * r * nf;
          vec* dPs = dP + s * nf * r;
          // y' = y + P th: dP += g thᵀ, d th = Pᵀ g; th = tanh(a): da = d th (1 − th²).
          for (int64_t i = 0; i < r; ++i) gth[i] = vec{};
          for (int64_t c = 0; c < nf; ++c)
            for (int64_t i = 0; i < r; ++i) {
              gth[i] += P[c * r + i] * g[c];
              dPs[c * r + i] += g[c] * th[i];
            }
          for (int64_t i = 0; i < r; ++i) {
            gth[i] *= scalar_t(1) - th[i] * th[i];  // now da
            db[s * r + i] += gth[i];
          }
          // a = W y + b: dW += da yᵀ, dy = g + Wᵀ da.
          for (int64_t i = 0; i < r; ++i)
            for (int64_t c = 0; c < nf; ++c) {
              dWs[i * nf + c] += gth[i] * y[c];
              g[c] += W[i * nf + c] * gth[i];
            }
        }
        tile.store(g, nf, HW, gx);
      }
      double* out = partials + k * n_params;
      for (int64_t p = 0; p < n_params; ++p) {
        double sum = 0;  // the SUM_LANES partial sums in pixel order (lane t of set m: pixel m T + t)
        for (int64_t m = 0; m < SETS; ++m)
          for (int64_t t = 0; t < T; ++t) sum += acc[m * n_params + p][t];
        out[p] = sum;
      }
    }
  });
}

void check(const at::Tensor& x, const at::Tensor& W, const at::Tensor& b,
           const at::Tensor& P) {
  TORCH_CHECK(x.dim() == 3 && x.is_contiguous(), "x must be a contiguous (B, nf, HW) tensor");
  TORCH_CHECK(W.dim() == 3 && b.dim() == 2 && P.dim() == 3, "W, b, P must be (S, r, nf), (S, r), (S, nf, r)");
  const auto S = W.size(0), r = W.size(1), nf = W.size(2);
  TORCH_CHECK(x.size(1) == nf && b.size(0) == S && b.size(1) == r && P.size(0) == S &&
                  P.size(1) == nf && P.size(2) == r, "shapes of x, W, b, P do not match");
  TORCH_CHECK(nf <= MAX_NF && r <= MAX_NF, "the fused kernel takes nf <= ", MAX_NF);
  TORCH_CHECK(W.is_contiguous() && b.is_contiguous() && P.is_contiguous(), "W, b, P must be contiguous");
  TORCH_CHECK(x.scalar_type() == W.scalar_type() && W.scalar_type() == b.scalar_type() &&
                  b.scalar_type() == P.scalar_type(), "x, W, b, P must have one dtype");
}

template <typename scalar_t>
Steps<scalar_t> steps_of(const at::Tensor& W, const at::Tensor& b, const at::Tensor& P) {
  return {W.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), P.data_ptr<scalar_t>(), W.size(0),
          W.size(1), W.size(2)};
}

at::Tensor forward(at::Tensor x, at::Tensor W, at::Tensor b, at::Tensor P) {
  check(x, W, b, P);
  auto out = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_block_forward", [&] {
    const auto st = steps_of<scalar_t>(W, b, P);
    const auto args = std::make_tuple(x.data_ptr<scalar_t>(), st, x.size(0), x.size(2), out.data_ptr<scalar_t>());
    if (st.nf == 8 && st.r == 8) std::apply(forward_impl<8, 8, scalar_t>, args);
    else if (st.nf == 8 && st.r == 4) std::apply(forward_impl<8, 4, scalar_t>, args);
    else std::apply(forward_impl<0, 0, scalar_t>, args);
  });
  return out;
}

std::vector<at::Tensor> backward(at::Tensor x, at::Tensor gout, at::Tensor W,
                                    at::Tensor b, at::Tensor P) {
  check(x, W, b, P);
  TORCH_CHECK(gout.sizes() == x.sizes() && gout.is_contiguous() && gout.scalar_type() == x.scalar_type(),
              "the output gradient must be contiguous, shaped and typed like x");
  const int64_t n_params = W.numel() + b.numel() + P.numel(), n_chunks = Chunk::count(x.size(0), x.size(2));
  auto partials = at::empty({n_chunks, n_params}, x.options().dtype(at::kDouble));
  auto gx = at::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_block_backward", [&] {
    const auto st = steps_of<scalar_t>(W, b, P);
    const auto args = std::make_tuple(x.data_ptr<scalar_t>(), gout.data_ptr<scalar_t>(), st, x.size(0),
                                      x.size(2), gx.data_ptr<scalar_t>(), partials.data_ptr<double>(), n_params);
    if (st.nf == 8 && st.r == 8) std::apply(backward_impl<8, 8, scalar_t>, args);
    else if (st.nf == 8 && st.r == 4) std::apply(backward_impl<8, 4, scalar_t>, args);
    else std::apply(backward_impl<0, 0, scalar_t>, args);
  });
  // The chunks' sums in chunk order, on this thread (torch's sum may group them by thread count).
  auto total = at::empty({n_params}, x.options().dtype(at::kDouble));
  const double* part = partials.data_ptr<double>();
  double* sum = total.data_ptr<double>();
  std::fill_n(sum, n_params, 0.0);
  for (int64_t k = 0; k < n_chunks; ++k)
    for (int64_t p = 0; p < n_params; ++p) sum[p] += part[k * n_params + p];
  auto grads = total.to(x.scalar_type()).split({W.numel(), b.numel(), P.numel()});
  return {gx, grads[0].view_as(W), grads[1].view_as(b), grads[2].view_as(P)};
}

// [bytes per vector register the build targets, 1 if built with OpenMP]: a tile is one register.
std::vector<int64_t> build_info() { return {VEC_BYTES, OPENMP}; }

}  // namespace

TORCH_LIBRARY(hdnn_fused, m) {
  m.def("forward(Tensor x, Tensor W, Tensor b, Tensor P) -> Tensor", &forward);
  m.def("backward(Tensor x, Tensor grad, Tensor W, Tensor b, Tensor P) -> Tensor[]", &backward);
  m.def("build_info() -> int[]", &build_info);
}
