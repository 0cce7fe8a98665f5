;; C = A * B in float32 with 128-bit SIMD, for lockstep's dense layers.
;; A is packed in panels of 4 rows: panel i holds k steps of 4 floats (A[i+0..3][p]).
;; B is packed in panels of 8 columns: panel j holds k steps of 8 floats (B[p][j+0..7]).
;; C is row-major, m x n with m a multiple of 4 and n a multiple of 8 (the caller pads).
;; Each C element is one float32 sum over p in increasing order, mul then add (no fused
;; multiply-add), so every thread and every run gets the same bits.
;; With $carry, C holds sums already, those of a product over the steps before these (A and B
;; packed from the next range of steps), and every element's sum goes on from there: products over
;; consecutive step ranges, carried, give the bits of one product over them all.
;; A 4 x 8 block of C lives in 8 registers while p runs; the p loop is not unrolled, because V8
;; then hoists the loads and spills registers.
;; The columns go in blocks of 128 and, within one, p runs in blocks of 256 steps: every block of C is
;; carried through one block of p (stored to C and loaded back between blocks, which keeps its
;; float32 sums exact), so the slices of B's panels that one block of columns and p takes (128 KB)
;; stay in the caches while every row of A uses them. A long p (a convolution's weight gradient sums
;; over every position of a chunk) or a wide B (a large layer) would otherwise stream whole panels
;; from memory for each row panel of A.
(module
  (memory (export "memory") 1)
  (func (export "matmul") (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32) (param $carry i32)
    (local $i i32) (local $j i32) (local $ap i32) (local $bp i32) (local $cp i32) (local $end i32)
    (local $cRow i32) (local $aPanel i32) (local $bPanel i32) (local $from i32) (local $steps i32)
    (local $firstColumn i32) (local $columnsEnd i32)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $cRow (i32.shl (local.get $n) (i32.const 2)))
    (local.set $aPanel (i32.shl (local.get $k) (i32.const 4)))
    (local.set $bPanel (i32.shl (local.get $k) (i32.const 5)))
    (loop $columnBlocks
    (local.set $columnsEnd (i32.add (local.get $firstColumn) (i32.const 128)))
    (if (i32.gt_u (local.get $columnsEnd) (local.get $n)) (then (local.set $columnsEnd (local.get $n))))
    (local.set $from (i32.const 0))
    (loop $pBlocks
    (local.set $steps (i32.sub (local.get $k) (local.get $from)))
    (if (i32.gt_u (local.get $steps) (i32.const 256)) (then (local.set $steps (i32.const 256))))
    (local.set $i (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $j (local.get $firstColumn))
        (block $columnsDone
          (loop $columns
            (br_if $columnsDone (i32.ge_u (local.get $j) (local.get $columnsEnd)))
        (local.set $cp (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $cRow)) (i32.shl (local.get $j) (i32.const 2)))))
        (if (i32.eqz (i32.or (local.get $from) (local.get $carry)))
          (then
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0))
            (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $c31 (v128.const i32x4 0 0 0 0)))
          (else
            (local.set $c00 (v128.load (local.get $cp)))
            (local.set $c01 (v128.load offset=16 (local.get $cp)))
            (local.set $c10 (v128.load (i32.add (local.get $cp) (local.get $cRow))))
            (local.set $c11 (v128.load offset=16 (i32.add (local.get $cp) (local.get $cRow))))
            (local.set $c20 (v128.load (i32.add (local.get $cp) (i32.shl (local.get $cRow) (i32.const 1)))))
            (local.set $c21 (v128.load offset=16 (i32.add (local.get $cp) (i32.shl (local.get $cRow) (i32.const 1)))))
            (local.set $c30 (v128.load (i32.add (local.get $cp) (i32.mul (local.get $cRow) (i32.const 3)))))
            (local.set $c31 (v128.load offset=16 (i32.add (local.get $cp) (i32.mul (local.get $cRow) (i32.const 3)))))))
            (local.set $ap (i32.add (local.get $a) (i32.add (i32.mul (i32.shr_u (local.get $i) (i32.const 2)) (local.get $aPanel)) (i32.shl (local.get $from) (i32.const 4)))))
            (local.set $bp (i32.add (local.get $b) (i32.add (i32.mul (i32.shr_u (local.get $j) (i32.const 3)) (local.get $bPanel)) (i32.shl (local.get $from) (i32.const 5)))))
            (local.set $end (i32.add (local.get $ap) (i32.shl (local.get $steps) (i32.const 4))))
            (block $stepsDone
              (loop $steps
                (br_if $stepsDone (i32.ge_u (local.get $ap) (local.get $end)))
          (local.set $b0 (v128.load (local.get $bp)))
          (local.set $b1 (v128.load offset=16 (local.get $bp)))
          (local.set $x (v128.load32_splat offset=0 (local.get $ap)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=4 (local.get $ap)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=8 (local.get $ap)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $x (v128.load32_splat offset=12 (local.get $ap)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
                (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
                (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
                (br $steps)))
        (v128.store (local.get $cp) (local.get $c00))
        (v128.store offset=16 (local.get $cp) (local.get $c01))
        (local.set $cp (i32.add (local.get $cp) (local.get $cRow)))
        (v128.store (local.get $cp) (local.get $c10))
        (v128.store offset=16 (local.get $cp) (local.get $c11))
        (local.set $cp (i32.add (local.get $cp) (local.get $cRow)))
        (v128.store (local.get $cp) (local.get $c20))
        (v128.store offset=16 (local.get $cp) (local.get $c21))
        (local.set $cp (i32.add (local.get $cp) (local.get $cRow)))
        (v128.store (local.get $cp) (local.get $c30))
        (v128.store offset=16 (local.get $cp) (local.get $c31))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $columns)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))
    (local.set $from (i32.add (local.get $from) (local.get $steps)))
    (br_if $pBlocks (i32.lt_u (local.get $from) (local.get $k))))
    (local.set $firstColumn (local.get $columnsEnd))
    (br_if $columnBlocks (i32.lt_u (local.get $firstColumn) (local.get $n)))))
  ;; Packs `lines` lines of a matrix at $src into panels of $width lines at $dst: panel q holds, for
  ;; each step p < $k, the values of lines q*width .. q*width+width-1 at p; lines past the end are 0.
  ;; Element (line, p) of the source is at $src + 4 * (line * $lineStride + p * $stepStride).
  ;; $width is a multiple of 4.
  (func (export "pack") (param $src i32) (param $lines i32) (param $k i32) (param $width i32)
        (param $lineStride i32) (param $stepStride i32) (param $dst i32)
    (if (i32.eq (local.get $lineStride) (i32.const 1))
      (then
        (call $packAdjacentLines (local.get $src) (local.get $lines) (local.get $k) (local.get $width) (local.get $stepStride) (local.get $dst))
        (return)))
    (if (i32.eq (local.get $stepStride) (i32.const 1))
      (then
        (call $packContiguousLines (local.get $src) (local.get $lines) (local.get $k) (local.get $width) (local.get $lineStride) (local.get $dst))
        (return)))
    (call $packLineByLine (i32.const 0) (local.get $src) (local.get $lines) (local.get $k) (local.get $width) (local.get $lineStride) (local.get $stepStride) (local.get $dst)))
  ;; `pack` one line at a time, from line $from on, reading each value on its own: the general case,
  ;; and the lines `packContiguousLines` leaves over.
  (func $packLineByLine (param $from i32) (param $src i32) (param $lines i32) (param $k i32) (param $width i32)
        (param $lineStride i32) (param $stepStride i32) (param $dst i32)
    (local $line i32) (local $padded i32) (local $out i32) (local $in i32) (local $end i32)
    (local $outStep i32) (local $inStep i32)
    (local.set $padded (i32.mul (i32.div_u (i32.add (local.get $lines) (i32.sub (local.get $width) (i32.const 1))) (local.get $width)) (local.get $width)))
    (local.set $outStep (i32.shl (local.get $width) (i32.const 2)))
    (local.set $inStep (i32.shl (local.get $stepStride) (i32.const 2)))
    (local.set $line (local.get $from))
    (block $linesDone
      (loop $lineLoop
        (br_if $linesDone (i32.ge_u (local.get $line) (local.get $padded)))
        (local.set $out (i32.add (local.get $dst) (i32.shl
          (i32.add (i32.mul (i32.mul (i32.div_u (local.get $line) (local.get $width)) (local.get $width)) (local.get $k))
                   (i32.rem_u (local.get $line) (local.get $width)))
          (i32.const 2))))
        (local.set $end (i32.add (local.get $out) (i32.mul (local.get $k) (local.get $outStep))))
        (local.set $in (i32.add (local.get $src) (i32.shl (i32.mul (local.get $line) (local.get $lineStride)) (i32.const 2))))
        (if (i32.lt_u (local.get $line) (local.get $lines))
          (then
            (block $copyDone
              (loop $copy
                (br_if $copyDone (i32.ge_u (local.get $out) (local.get $end)))
                (f32.store (local.get $out) (f32.load (local.get $in)))
                (local.set $out (i32.add (local.get $out) (local.get $outStep)))
                (local.set $in (i32.add (local.get $in) (local.get $inStep)))
                (br $copy))))
          (else
            (block $zeroDone
              (loop $zero
                (br_if $zeroDone (i32.ge_u (local.get $out) (local.get $end)))
                (f32.store (local.get $out) (f32.const 0))
                (local.set $out (i32.add (local.get $out) (local.get $outStep)))
                (br $zero)))))
        (local.set $line (i32.add (local.get $line) (i32.const 1)))
        (br $lineLoop))))
  ;; `pack` for lines whose own values lie next to each other (step stride 1), as in the rows of a
  ;; row-major matrix: each group of four lines is read four steps at a time, the 4 x 4 block is
  ;; transposed in registers, and each step's four values are stored together. The last lines when
  ;; `lines` is not a multiple of 4, and the padding after them, go line by line.
  (func $packContiguousLines (param $src i32) (param $lines i32) (param $k i32) (param $width i32) (param $lineStride i32) (param $dst i32)
    (local $group i32) (local $grouped i32) (local $in i32) (local $out i32) (local $p i32) (local $vectorSteps i32)
    (local $inLine i32) (local $outStep i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $grouped (i32.and (local.get $lines) (i32.const -4)))
    (local.set $vectorSteps (i32.and (local.get $k) (i32.const -4)))
    (local.set $inLine (i32.shl (local.get $lineStride) (i32.const 2)))
    (local.set $outStep (i32.shl (local.get $width) (i32.const 2)))
    (local.set $group (i32.const 0))
    (block $groupsDone
      (loop $groups
        (br_if $groupsDone (i32.ge_u (local.get $group) (local.get $grouped)))
        (local.set $in (i32.add (local.get $src) (i32.mul (local.get $group) (local.get $inLine))))
        (local.set $out (i32.add (local.get $dst) (i32.shl
          (i32.add (i32.mul (i32.sub (local.get $group) (i32.rem_u (local.get $group) (local.get $width))) (local.get $k))
                   (i32.rem_u (local.get $group) (local.get $width)))
          (i32.const 2))))
        (local.set $p (i32.const 0))
        (block $vectorsDone
          (loop $vectors
            (br_if $vectorsDone (i32.ge_u (local.get $p) (local.get $vectorSteps)))
            (local.set $v0 (v128.load (local.get $in)))
            (local.set $v1 (v128.load (i32.add (local.get $in) (local.get $inLine))))
            (local.set $v2 (v128.load (i32.add (local.get $in) (i32.shl (local.get $inLine) (i32.const 1)))))
            (local.set $v3 (v128.load (i32.add (local.get $in) (i32.mul (local.get $inLine) (i32.const 3)))))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
            (v128.store (local.get $out) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (local.set $out (i32.add (local.get $out) (local.get $outStep)))
            (v128.store (local.get $out) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (local.set $out (i32.add (local.get $out) (local.get $outStep)))
            (v128.store (local.get $out) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (local.set $out (i32.add (local.get $out) (local.get $outStep)))
            (v128.store (local.get $out) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $out (i32.add (local.get $out) (local.get $outStep)))
            (local.set $in (i32.add (local.get $in) (i32.const 16)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br $vectors)))
        (block $stepsDone
          (loop $steps
            (br_if $stepsDone (i32.ge_u (local.get $p) (local.get $k)))
            (f32.store (local.get $out) (f32.load (local.get $in)))
            (f32.store offset=4 (local.get $out) (f32.load (i32.add (local.get $in) (local.get $inLine))))
            (f32.store offset=8 (local.get $out) (f32.load (i32.add (local.get $in) (i32.shl (local.get $inLine) (i32.const 1)))))
            (f32.store offset=12 (local.get $out) (f32.load (i32.add (local.get $in) (i32.mul (local.get $inLine) (i32.const 3)))))
            (local.set $out (i32.add (local.get $out) (local.get $outStep)))
            (local.set $in (i32.add (local.get $in) (i32.const 4)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $steps)))
        (local.set $group (i32.add (local.get $group) (i32.const 4)))
        (br $groups)))
    (call $packLineByLine (local.get $grouped) (local.get $src) (local.get $lines) (local.get $k) (local.get $width) (local.get $lineStride) (i32.const 1) (local.get $dst)))
  ;; `pack` for lines that lie next to each other in memory (line stride 1): a panel's values at one
  ;; step are adjacent in the source too, so they are copied four at a time. With few panels, the
  ;; whole panels are filled step after step, each step's source values read once, in order (one pass
  ;; over the source instead of one per panel); with many, panel after panel, so that the panels being
  ;; written stay few. Then the last panel, when it has fewer lines than $width.
  (func $packAdjacentLines (param $src i32) (param $lines i32) (param $k i32) (param $width i32) (param $stepStride i32) (param $dst i32)
    (local $p i32) (local $q i32) (local $in i32) (local $out i32) (local $end i32) (local $inStep i32)
    (local $panelBytes i32) (local $panelStride i32) (local $fullPanels i32) (local $w i32) (local $restBytes i32)
    (local.set $inStep (i32.shl (local.get $stepStride) (i32.const 2)))
    (local.set $panelBytes (i32.shl (local.get $width) (i32.const 2)))
    (local.set $panelStride (i32.mul (local.get $k) (local.get $panelBytes)))
    (local.set $fullPanels (i32.div_u (local.get $lines) (local.get $width)))
    (if (i32.gt_u (local.get $fullPanels) (i32.const 32)) (then
      (local.set $q (i32.const 0))
      (block $panelsDone
        (loop $panels
          (br_if $panelsDone (i32.ge_u (local.get $q) (local.get $fullPanels)))
          (local.set $in (i32.add (local.get $src) (i32.mul (local.get $q) (local.get $panelBytes))))
          (local.set $out (i32.add (local.get $dst) (i32.mul (local.get $q) (local.get $panelStride))))
          (local.set $end (i32.add (local.get $out) (local.get $panelStride)))
          (block $stepsDone
            (loop $steps
              (br_if $stepsDone (i32.ge_u (local.get $out) (local.get $end)))
              (local.set $w (i32.const 0))
              (block $vectorsDone
                (loop $vectors
                  (br_if $vectorsDone (i32.ge_u (local.get $w) (local.get $panelBytes)))
                  (v128.store (i32.add (local.get $out) (local.get $w)) (v128.load (i32.add (local.get $in) (local.get $w))))
                  (local.set $w (i32.add (local.get $w) (i32.const 16)))
                  (br $vectors)))
              (local.set $out (i32.add (local.get $out) (local.get $panelBytes)))
              (local.set $in (i32.add (local.get $in) (local.get $inStep)))
              (br $steps)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $panels)))
      (local.set $p (local.get $k))))
    (block $stepsDone
      (loop $steps
        (br_if $stepsDone (i32.ge_u (local.get $p) (local.get $k)))
        (local.set $in (i32.add (local.get $src) (i32.mul (local.get $p) (local.get $inStep))))
        (local.set $out (i32.add (local.get $dst) (i32.mul (local.get $p) (local.get $panelBytes))))
        (local.set $q (i32.const 0))
        (block $panelsDone
          (loop $panels
            (br_if $panelsDone (i32.ge_u (local.get $q) (local.get $fullPanels)))
            (local.set $w (i32.const 0))
            (block $vectorsDone
              (loop $vectors
                (br_if $vectorsDone (i32.ge_u (local.get $w) (local.get $panelBytes)))
                (v128.store (i32.add (local.get $out) (local.get $w)) (v128.load (i32.add (local.get $in) (local.get $w))))
                (local.set $w (i32.add (local.get $w) (i32.const 16)))
                (br $vectors)))
            (local.set $in (i32.add (local.get $in) (local.get $panelBytes)))
            (local.set $out (i32.add (local.get $out) (local.get $panelStride)))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $panels)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $steps)))
    (local.set $restBytes (i32.shl (i32.sub (local.get $lines) (i32.mul (local.get $fullPanels) (local.get $width))) (i32.const 2)))
    (if (i32.eqz (local.get $restBytes)) (then (return)))
    ;; The last panel: each step is zeroed, then its lines copied.
    (local.set $in (i32.add (local.get $src) (i32.mul (local.get $fullPanels) (local.get $panelBytes))))
    (local.set $out (i32.add (local.get $dst) (i32.mul (local.get $fullPanels) (local.get $panelStride))))
    (local.set $end (i32.add (local.get $out) (local.get $panelStride)))
    (block $lastDone
      (loop $last
        (br_if $lastDone (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $w (i32.const 0))
        (block $zerosDone
          (loop $zeros
            (br_if $zerosDone (i32.ge_u (local.get $w) (local.get $panelBytes)))
            (v128.store (i32.add (local.get $out) (local.get $w)) (v128.const i32x4 0 0 0 0))
            (local.set $w (i32.add (local.get $w) (i32.const 16)))
            (br $zeros)))
        (local.set $w (i32.const 0))
        (block $valuesDone
          (loop $values
            (br_if $valuesDone (i32.ge_u (local.get $w) (local.get $restBytes)))
            (f32.store (i32.add (local.get $out) (local.get $w)) (f32.load (i32.add (local.get $in) (local.get $w))))
            (local.set $w (i32.add (local.get $w) (i32.const 4)))
            (br $values)))
        (local.set $out (i32.add (local.get $out) (local.get $panelBytes)))
        (local.set $in (i32.add (local.get $in) (local.get $inStep)))
        (br $last))))
  ;; Copies the m x n product out of C (rows $cStride floats apart) into $dst (rows n floats apart):
  ;; $mode 0 stores it, 1 stores it plus the bias at $bias (n floats), 2 adds it to what $dst holds.
  ;; Four columns at a time with SIMD, then one at a time; float32 adds, the same bits as scalar code.
  (func (export "finish") (param $c i32) (param $cStride i32) (param $m i32) (param $n i32) (param $dst i32) (param $bias i32) (param $mode i32)
    (local $i i32) (local $j i32) (local $from i32) (local $to i32) (local $vectorEnd i32) (local $v v128) (local $x f32)
    (local.set $vectorEnd (i32.and (local.get $n) (i32.const -4)))
    (local.set $i (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $from (i32.add (local.get $c) (i32.shl (i32.mul (local.get $i) (local.get $cStride)) (i32.const 2))))
        (local.set $to (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $vectorsDone
          (loop $vectors
            (br_if $vectorsDone (i32.ge_u (local.get $j) (local.get $vectorEnd)))
            (local.set $v (v128.load (i32.add (local.get $from) (i32.shl (local.get $j) (i32.const 2)))))
            (if (i32.eq (local.get $mode) (i32.const 1))
              (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))))
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then (local.set $v (f32x4.add (v128.load (i32.add (local.get $to) (i32.shl (local.get $j) (i32.const 2)))) (local.get $v)))))
            (v128.store (i32.add (local.get $to) (i32.shl (local.get $j) (i32.const 2))) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vectors)))
        (block $scalarsDone
          (loop $scalars
            (br_if $scalarsDone (i32.ge_u (local.get $j) (local.get $n)))
            (local.set $x (f32.load (i32.add (local.get $from) (i32.shl (local.get $j) (i32.const 2)))))
            (if (i32.eq (local.get $mode) (i32.const 1))
              (then (local.set $x (f32.add (local.get $x) (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))))
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then (local.set $x (f32.add (f32.load (i32.add (local.get $to) (i32.shl (local.get $j) (i32.const 2)))) (local.get $x)))))
            (f32.store (i32.add (local.get $to) (i32.shl (local.get $j) (i32.const 2))) (local.get $x))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $scalars)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
