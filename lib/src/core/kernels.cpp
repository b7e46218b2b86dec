// Register-tiled products (BLIS-style: A in panels of kMr rows, B in panels
// of kNr columns, a kMr x kNr tile of C kept in registers over a block of
// k). One template, instantiated for three instruction sets through GCC's
// target attribute, so the file needs no -march and the choice is made once
// at run time (__builtin_cpu_supports).
#include "core/kernels.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/kernels_vector.h"

// The vector helpers below are always inlined: their vector arguments never
// cross a call, so the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace ltr {
namespace internal {

using Eigen::Index;

namespace {

using vector::TanhLoop;
using vector::VectorOf;

// Depth of a k-block: a B panel (kKc x kNr) stays in L1 while the A panels
// (kMr x kKc) stream from L2.
constexpr Index kKc = 256;

// Arguments of every A panel times every B panel over one k-block.
struct PanelArgs {
  Index m;               // rows of C
  Index n;               // columns of C
  Index k;               // depth of this block
  const double* a;       // first A panel at this block's depth
  Index a_panel_stride;  // doubles from one A panel to the next
  const double* b;       // B panels, k x kNr each, row p at + p kNr
  double* c;
  Index ldc;
  bool accumulate;  // C += ... (else C = ...)
};

// Rows [0, mr) and columns [0, NC) of a kMr x NC tile of C, at c, from an A
// panel and a B panel (row stride NR). Each entry is the multiply-add chain
// over p = 0 .. k-1 in order.
template <int V, int MV, int NR, int NC>
__attribute__((always_inline)) inline void Tile(Index k,
                                                const double* a,
                                                const double* b,
                                                double* c,
                                                Index ldc,
                                                Index mr,
                                                bool accumulate) {
  using Vec = typename VectorOf<V>::type;
  constexpr int kMr = V * MV;
  Vec acc[NC][MV];
  double edge[kMr];
  for (int j = 0; j < NC; ++j) {
    const double* cj = c + j * ldc;
    if (accumulate && mr < kMr) {
      std::fill(edge, edge + kMr, 0.0);
      std::copy(cj, cj + mr, edge);
      cj = edge;
    }
    for (int v = 0; v < MV; ++v) {
      if (accumulate) {
        std::memcpy(&acc[j][v], cj + v * V, sizeof(Vec));
      } else {
        acc[j][v] = Vec{};
      }
    }
  }
  for (Index p = 0; p < k; ++p) {
    Vec av[MV];
    for (int v = 0; v < MV; ++v)
      std::memcpy(&av[v], a + p * kMr + v * V, sizeof(Vec));
    for (int j = 0; j < NC; ++j) {
      const double s = b[p * NR + j];
      for (int v = 0; v < MV; ++v) acc[j][v] += av[v] * s;
    }
  }
  for (int j = 0; j < NC; ++j) {
    double* cj = c + j * ldc;
    if (mr == kMr) {
      for (int v = 0; v < MV; ++v)
        std::memcpy(cj + v * V, &acc[j][v], sizeof(Vec));
    } else {
      for (int v = 0; v < MV; ++v)
        std::memcpy(edge + v * V, &acc[j][v], sizeof(Vec));
      std::copy(edge, edge + mr, cj);
    }
  }
}

// The tile for nc columns: NC = nc, found at compile time.
template <int V, int MV, int NR, int NC>
__attribute__((always_inline)) inline void TileOfWidth(const PanelArgs& x,
                                                       Index nc,
                                                       const double* a,
                                                       const double* b,
                                                       double* c,
                                                       Index mr) {
  if constexpr (NC > 0) {
    if (nc == NC) {
      Tile<V, MV, NR, NC>(x.k, a, b, c, x.ldc, mr, x.accumulate);
    } else {
      TileOfWidth<V, MV, NR, NC - 1>(x, nc, a, b, c, mr);
    }
  }
}

// A panel by A panel (each stays in L1 while the B panels stream from L2).
template <int V, int MV, int NR>
__attribute__((always_inline)) inline void Panels(const PanelArgs& x) {
  constexpr Index kMr = V * MV;
  for (Index i = 0; i * kMr < x.m; ++i) {
    const Index mr = std::min(kMr, x.m - i * kMr);
    const double* a = x.a + i * x.a_panel_stride;
    for (Index j = 0; j < x.n; j += NR)
      TileOfWidth<V, MV, NR, NR>(x,
                                 std::min<Index>(NR, x.n - j),
                                 a,
                                 x.b + j * x.k,
                                 x.c + i * kMr + j * x.ldc,
                                 mr);
  }
}

// Arguments of MultiplyTall (kernels.h).
struct TallArgs {
  const double* s;
  Index m;
  Index n;
  Index ld_s;
  const double* wt;
  Index rank;
  double* t;
  Index ld_t;
  const double* prefetch;      // region to bring into L2 meanwhile
  const double* prefetch_end;  // (the next slice), lines in order
  Index prefetch_lines;        // lines per column of S
};

// Rows [i, i + V MV) and columns [r0, r0 + G) of T, the G MV accumulators in
// registers over all n columns of S: the chain over j = 0 .. n-1 in order.
// prefetch_lines lines of the prefetch region are requested per column.
template <int V, int MV, int G>
__attribute__((always_inline)) inline void TallTile(const TallArgs& x,
                                                    Index i,
                                                    Index r0,
                                                    const double*& prefetch) {
  using Vec = typename VectorOf<V>::type;
  Vec acc[G][MV] = {};
  for (Index j = 0; j < x.n; ++j) {
    for (Index q = 0; q < x.prefetch_lines && prefetch < x.prefetch_end; ++q) {
      __builtin_prefetch(prefetch, 0, 2);
      prefetch += 64 / sizeof(double);
    }
    const double* column = x.s + j * x.ld_s + i;
    // The next tile's rows of this column: columns far apart (pass 2 of the
    // tree) are as many streams as the hardware can follow.
    if (r0 == 0)
      for (int q = 0; q < V * MV; q += 8)
        __builtin_prefetch(column + V * MV + q, 0, 2);
    Vec sv[MV];
    for (int v = 0; v < MV; ++v)
      std::memcpy(&sv[v], column + v * V, sizeof(Vec));
    const double* w = x.wt + j * x.rank + r0;
    for (int g = 0; g < G; ++g) {
      const double b = w[g];
      for (int v = 0; v < MV; ++v) acc[g][v] += sv[v] * b;
    }
  }
  for (int g = 0; g < G; ++g)
    for (int v = 0; v < MV; ++v)
      std::memcpy(x.t + (r0 + g) * x.ld_t + i + v * V, &acc[g][v], sizeof(Vec));
}

// Row i (one of the last m mod V MV) and columns [r0, r0 + G) of T, scalar.
template <int G>
__attribute__((always_inline)) inline void TallRow(const TallArgs& x,
                                                   Index i,
                                                   Index r0) {
  double acc[G] = {};
  for (Index j = 0; j < x.n; ++j) {
    const double s = x.s[j * x.ld_s + i];
    const double* w = x.wt + j * x.rank + r0;
    for (int g = 0; g < G; ++g) acc[g] += s * w[g];
  }
  for (int g = 0; g < G; ++g) x.t[(r0 + g) * x.ld_t + i] = acc[g];
}

// f(r, W) for the last `width` (3 <= width <= W) columns of T, as one tile
// of that width: tiles of 1 or 2 columns have too few accumulators to hide
// the multiply-add latency, so rank 5 as 4 + 1 took as long as rank 8.
template <int W, typename F>
__attribute__((always_inline)) inline void TallRest(Index width,
                                                    Index r,
                                                    const F& f) {
  if constexpr (W >= 3) {
    if (width == W)
      f(r, std::integral_constant<int, W>());
    else
      TallRest<W - 1>(width, r, f);
  }
}

// f(r0, G) for the columns of T from r on, in groups of G while they last,
// then the rest as one group of 3 or more, or in groups of 4, 2 and 1.
template <int G, typename F>
__attribute__((always_inline)) inline void TallGroups(Index rank,
                                                      Index r,
                                                      const F& f) {
  for (; r + G <= rank; r += G) f(r, std::integral_constant<int, G>());
  if (rank - r >= 3 && G > 3) {
    TallRest<G - 1>(rank - r, r, f);
    return;
  }
  if constexpr (G > 1) TallGroups<(G > 4 ? 4 : G / 2)>(rank, r, f);
}

// Chunk of V MV rows by chunk: a chunk of S (n columns) stays in L1 while
// every group of columns of T is formed from it.
template <int V, int MV, int G>
__attribute__((always_inline)) inline void Tall(const TallArgs& x) {
  constexpr Index kRows = V * MV;
  const double* prefetch = x.prefetch;
  Index i = 0;
  for (; i + kRows <= x.m; i += kRows)
    TallGroups<G>(x.rank, 0, [&](Index r0, auto width) {
      TallTile<V, MV, decltype(width)::value>(x, i, r0, prefetch);
    });
  for (; i < x.m; ++i)
    TallGroups<G>(x.rank, 0, [&](Index r0, auto width) {
      TallRow<decltype(width)::value>(x, i, r0);
    });
}

// Tiles: 24 x 8 with 32 zmm registers, 8 x 4 with 16 ymm, 4 x 4 with 16
// xmm (accumulators + one panel column + one broadcast fit the registers).
__attribute__((target("avx512f"), flatten)) void PanelsAvx512(
    const PanelArgs& x) {
  Panels<8, 3, 8>(x);
}
__attribute__((target("avx2,fma"), flatten)) void PanelsAvx2(
    const PanelArgs& x) {
  Panels<4, 2, 4>(x);
}
__attribute__((flatten)) void PanelsSse2(const PanelArgs& x) {
  Panels<2, 2, 4>(x);
}
__attribute__((target("avx512f"), flatten)) void TanhAvx512(const double* x,
                                                            double* y,
                                                            Index n) {
  TanhLoop<8>(x, y, n);
}
__attribute__((target("avx2,fma"), flatten)) void TanhAvx2(const double* x,
                                                           double* y,
                                                           Index n) {
  TanhLoop<4>(x, y, n);
}
__attribute__((flatten)) void TanhSse2(const double* x, double* y, Index n) {
  TanhLoop<2>(x, y, n);
}

// T = S W: 16 x 8 accumulator tiles with 32 zmm, 8 x 6 with 16 ymm (12
// accumulators, 2 columns of S and a broadcast), 4 x 6 with 16 xmm.
__attribute__((target("avx512f"), flatten)) void TallAvx512(const TallArgs& x) {
  Tall<8, 2, 8>(x);
}
__attribute__((target("avx2,fma"), flatten)) void TallAvx2(const TallArgs& x) {
  Tall<4, 2, 6>(x);
}
__attribute__((flatten)) void TallSse2(const TallArgs& x) { Tall<2, 2, 6>(x); }

struct Kernel {
  const char* name;
  Index mr;
  Index nr;
  void (*panels)(const PanelArgs&);
  void (*tanh)(const double*, double*, Index);
  void (*tall)(const TallArgs&);
  Index tall_rows;  // rows of T per tile
  int tall_group;   // widest group of columns of T per tile
};

const Kernel kKernels[] = {
    {"sse2", 4, 4, PanelsSse2, TanhSse2, TallSse2, 4, 6},
    {"avx2", 8, 4, PanelsAvx2, TanhAvx2, TallAvx2, 8, 6},
    {"avx512", 24, 8, PanelsAvx512, TanhAvx512, TallAvx512, 16, 8}};

bool Supported(const Kernel& kernel) {
  __builtin_cpu_init();
  if (kernel.panels == PanelsAvx512) return __builtin_cpu_supports("avx512f");
  if (kernel.panels == PanelsAvx2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return true;
}

const Kernel* BestKernel() {
  const Kernel* best = &kKernels[0];
  for (const Kernel& k : kKernels)
    if (Supported(k)) best = &k;
  return best;
}

// A property of the machine, found once; tests may lower it.
const Kernel* g_kernel = BestKernel();

// c (m x n) = (accumulate ? c : 0) + A B over depth k, A packed for
// `kernel` in panels of `a_panel_stride` doubles; B(p, j) at
// b[p b_row + j b_col].
void Gemm(const Kernel& kernel,
          const double* a,
          Index a_panel_stride,
          Index m,
          Index k,
          const double* b,
          Index b_row,
          Index b_col,
          Index n,
          double* c,
          Index ldc,
          bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (Index j = 0; j < n; ++j)
        std::fill(c + j * ldc, c + j * ldc + m, 0.0);
    return;
  }
  thread_local std::vector<double, Eigen::aligned_allocator<double>> panels;
  const Index nr = kernel.nr;
  const Index n_padded = (n + nr - 1) / nr * nr;
  for (Index k0 = 0; k0 < k; k0 += kKc) {
    const Index kc = std::min(kKc, k - k0);
    panels.resize(static_cast<size_t>(kc * n_padded));
    for (Index j0 = 0; j0 < n; j0 += nr) {
      double* panel = panels.data() + j0 * kc;
      const Index nc = std::min(nr, n - j0);
      for (Index p = 0; p < kc; ++p) {
        double* to = panel + p * nr;
        const double* from = b + (k0 + p) * b_row + j0 * b_col;
        if (b_col == 1) {
          std::copy(from, from + nc, to);
        } else {
          for (Index j = 0; j < nc; ++j) to[j] = from[j * b_col];
        }
        std::fill(to + nc, to + nr, 0.0);
      }
    }
    const PanelArgs x{m,
                      n,
                      kc,
                      a + k0 * kernel.mr,
                      a_panel_stride,
                      panels.data(),
                      c,
                      ldc,
                      accumulate || k0 > 0};
    kernel.panels(x);
  }
}

// Rows [0, rows) of op(A) over depth [0, depth), op(A)(i, p) at
// a[i row + p col], into panels of mr rows, zero-padded.
void PackPanels(const double* a,
                Index row,
                Index col,
                Index rows,
                Index depth,
                Index mr,
                double* out) {
  const Index panels = (rows + mr - 1) / mr;
  for (Index i = 0; i < panels; ++i) {
    double* panel = out + i * mr * depth;
    const Index valid = std::min(mr, rows - i * mr);
    for (Index p = 0; p < depth; ++p) {
      double* to = panel + p * mr;
      const double* from = a + i * mr * row + p * col;
      if (row == 1) {
        std::copy(from, from + valid, to);
      } else {
        for (Index r = 0; r < valid; ++r) to[r] = from[r * row];
      }
      std::fill(to + valid, to + mr, 0.0);
    }
  }
}

// AddGram's panels of rows x depth A (A(i, p) at a[i row + p col]): in
// panels of mr rows (PackPanels), and of nr rows (nr divides mr) copied
// from those. With rows contiguous (col 1), the next `next` entries of each
// row (the next k-block) are requested meanwhile: the rows are far apart,
// more streams than the hardware prefetchers follow.
void PackGramPanels(const double* a,
                    Index row,
                    Index col,
                    Index rows,
                    Index depth,
                    Index next,
                    Index mr,
                    Index nr,
                    double* a_panels,
                    double* b_panels) {
  if (col == 1) {
    // Rows contiguous in memory: each read in order (the tensor's rows or a
    // slice's columns, far apart), written with stride mr.
    const Index panels = (rows + mr - 1) / mr;
    for (Index i = 0; i < panels; ++i) {
      double* panel = a_panels + i * mr * depth;
      const Index valid = std::min(mr, rows - i * mr);
      for (Index r = 0; r < valid; ++r) {
        const double* from = a + (i * mr + r) * row;
        for (Index q = 0; q < next; q += 64 / sizeof(double))
          __builtin_prefetch(from + depth + q, 0, 2);
        for (Index p = 0; p < depth; ++p) panel[p * mr + r] = from[p];
      }
      for (Index r = valid; r < mr; ++r)
        for (Index p = 0; p < depth; ++p) panel[p * mr + r] = 0.0;
    }
  } else {
    PackPanels(a, row, col, rows, depth, mr, a_panels);
  }
  for (Index j0 = 0; j0 < rows; j0 += nr) {
    const double* from = a_panels + j0 / mr * mr * depth + j0 % mr;
    double* to = b_panels + j0 * depth;
    for (Index p = 0; p < depth; ++p)
      for (Index q = 0; q < nr; ++q) to[p * nr + q] = from[p * mr + q];
  }
}

}  // namespace

const char* KernelsName() { return g_kernel->name; }

bool UseKernelsForTesting(const char* name) {
  for (const Kernel& k : kKernels)
    if (std::strcmp(k.name, name) == 0 && Supported(k)) {
      g_kernel = &k;
      return true;
    }
  return false;
}

PackedMatrix::PackedMatrix(const Eigen::Ref<const Eigen::MatrixXd>& a,
                           bool transpose)
    : rows_(transpose ? a.cols() : a.rows()),
      depth_(transpose ? a.rows() : a.cols()),
      kernel_(g_kernel) {
  const Index mr = static_cast<const Kernel*>(kernel_)->mr;
  data_.resize(static_cast<size_t>((rows_ + mr - 1) / mr * mr * depth_));
  const Index ld = a.outerStride();
  PackPanels(a.data(),
             transpose ? ld : 1,
             transpose ? 1 : ld,
             rows_,
             depth_,
             mr,
             data_.data());
}

void Multiply(const PackedMatrix& a,
              const Eigen::Ref<const Eigen::MatrixXd>& in,
              Eigen::Ref<Eigen::MatrixXd> out) {
  const Kernel& kernel = *static_cast<const Kernel*>(a.kernel());
  Gemm(kernel,
       a.data(),
       kernel.mr * a.depth(),
       a.rows(),
       a.depth(),
       in.data(),
       1,
       in.outerStride(),
       in.cols(),
       out.data(),
       out.outerStride(),
       false);
}

void TanhArray(const double* x, double* y, Index n) { g_kernel->tanh(x, y, n); }

void AddProductTransposed(const Eigen::Ref<const Eigen::MatrixXd>& a,
                          const Eigen::Ref<const Eigen::MatrixXd>& b,
                          Eigen::Ref<Eigen::MatrixXd> c) {
  const Kernel& kernel = *g_kernel;
  thread_local std::vector<double, Eigen::aligned_allocator<double>> packed;
  const Index m = a.rows();
  const Index mr = kernel.mr;
  for (Index k0 = 0; k0 < a.cols(); k0 += kKc) {
    const Index kc = std::min(kKc, a.cols() - k0);
    packed.resize(static_cast<size_t>((m + mr - 1) / mr * mr * kc));
    PackPanels(a.data() + k0 * a.outerStride(),
               1,
               a.outerStride(),
               m,
               kc,
               mr,
               packed.data());
    // B(p, j) = b(j, k0 + p).
    Gemm(kernel,
         packed.data(),
         mr * kc,
         m,
         kc,
         b.data() + k0 * b.outerStride(),
         b.outerStride(),
         1,
         b.rows(),
         c.data(),
         c.outerStride(),
         true);
  }
}

void AddGram(const double* a,
             Index row,
             Index col,
             Index rows,
             Index depth,
             double* g,
             Index ldg) {
  const Kernel& kernel = *g_kernel;
  thread_local std::vector<double, Eigen::aligned_allocator<double>> a_panels,
      b_panels;
  const Index mr = kernel.mr, nr = kernel.nr;
  for (Index k0 = 0; k0 < depth && rows > 0; k0 += kKc) {
    const Index kc = std::min(kKc, depth - k0);
    // A in panels of mr rows, and again as B (B(p, j) = A(j, p)) in panels
    // of nr columns.
    a_panels.resize(static_cast<size_t>((rows + mr - 1) / mr * mr * kc));
    b_panels.resize(static_cast<size_t>((rows + nr - 1) / nr * nr * kc));
    const Index next = std::min(kKc, depth - k0 - kc);
    PackGramPanels(a + k0 * col,
                   row,
                   col,
                   rows,
                   kc,
                   next,
                   mr,
                   nr,
                   a_panels.data(),
                   b_panels.data());
    // Row panel i0 needs the columns up to its last row only.
    for (Index i0 = 0; i0 < rows; i0 += mr) {
      const PanelArgs x{std::min(mr, rows - i0),
                        std::min(rows, i0 + mr),
                        kc,
                        a_panels.data() + i0 * kc,
                        mr * kc,
                        b_panels.data(),
                        g + i0,
                        ldg,
                        true};
      kernel.panels(x);
    }
  }
}

void MultiplyTall(const double* s,
                  Index m,
                  Index n,
                  Index ld_s,
                  const double* wt,
                  Index rank,
                  double* t,
                  Index ld_t,
                  const double* prefetch,
                  Index prefetch_size) {
  if (m == 0 || rank == 0) return;
  const Kernel& kernel = *g_kernel;
  // Spread the prefetch region over the column steps of the tiles.
  Index groups = 0;
  for (Index r = 0, g = kernel.tall_group; r < rank; ++groups) {
    while (r + g > rank) g = g > 4 ? 4 : g / 2;
    r += g;
  }
  const Index steps = std::max<Index>(1, m / kernel.tall_rows * groups * n);
  const Index lines = (prefetch_size * Index{sizeof(double)} + 63) / 64;
  const TallArgs x{s,
                   m,
                   n,
                   ld_s,
                   wt,
                   rank,
                   t,
                   ld_t,
                   prefetch,
                   prefetch ? prefetch + prefetch_size : nullptr,
                   (lines + steps - 1) / steps};
  kernel.tall(x);
}

}  // namespace internal
}  // namespace ltr
