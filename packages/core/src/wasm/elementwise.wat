;; Element-wise passes of the layers that sit between the matrix products, branch-free with 128-bit
;; SIMD: a random sign pattern or dropout mask defeats the branch predictor of a scalar loop. Also
;; the column sums of a dense layer's bias gradient.
;; Each result has the bits of the scalar definition in the comment above its function.
;; The passes take $n floats from $x (and $y) to $out; four at a time, then one at a time.
(module
  (memory (export "memory") 1)
  ;; out = x < 0 ? 0 : x (NaN and -0 pass through, as in PyTorch's relu)
  (func (export "relu") (param $x i32) (param $out i32) (param $n i32)
    (local $at i32) (local $vectorEnd i32) (local $end i32) (local $v v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $at) (local.get $vectorEnd)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $at))))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (v128.andnot (local.get $v) (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vectors)))
    (block $scalarsDone
      (loop $scalars
        (br_if $scalarsDone (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $v (v128.load32_zero (i32.add (local.get $x) (local.get $at))))
        (v128.store32_lane 0 (i32.add (local.get $out) (local.get $at))
          (v128.andnot (local.get $v) (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $scalars))))
  ;; out = x > 0 ? y : 0, the gradient y of relu's output taken back through relu(x)
  (func (export "reluBackward") (param $x i32) (param $y i32) (param $out i32) (param $n i32)
    (local $at i32) (local $vectorEnd i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $at) (local.get $vectorEnd)))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (v128.and (v128.load (i32.add (local.get $y) (local.get $at)))
                    (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $at))) (v128.const f32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vectors)))
    (block $scalarsDone
      (loop $scalars
        (br_if $scalarsDone (i32.ge_u (local.get $at) (local.get $end)))
        (v128.store32_lane 0 (i32.add (local.get $out) (local.get $at))
          (v128.and (v128.load32_zero (i32.add (local.get $y) (local.get $at)))
                    (f32x4.gt (v128.load32_zero (i32.add (local.get $x) (local.get $at))) (v128.const f32x4 0 0 0 0))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $scalars))))
  ;; out = x * y in float32 (a dropout mask or its backward)
  (func (export "multiply") (param $x i32) (param $y i32) (param $out i32) (param $n i32)
    (local $at i32) (local $vectorEnd i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectorEnd (i32.and (local.get $end) (i32.const -16)))
    (block $vectorsDone
      (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $at) (local.get $vectorEnd)))
        (v128.store (i32.add (local.get $out) (local.get $at))
          (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $at))) (v128.load (i32.add (local.get $y) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vectors)))
    (block $scalarsDone
      (loop $scalars
        (br_if $scalarsDone (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $at))
          (f32.mul (f32.load (i32.add (local.get $x) (local.get $at))) (f32.load (i32.add (local.get $y) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $scalars))))
  ;; out = x * m[e / run] in float32 (e the element's index): dropout whose units are runs of $run
  ;; consecutive values, as Dropout2d's feature maps are; each run's multiplier taken once.
  (func (export "multiplyRuns") (param $x i32) (param $m i32) (param $out i32) (param $n i32) (param $run i32)
    (local $at i32) (local $runEnd i32) (local $vectorEnd i32) (local $end i32) (local $s v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $runsDone
      (loop $runs
        (br_if $runsDone (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $s (v128.load32_splat (local.get $m)))
        (local.set $runEnd (i32.add (local.get $at) (i32.shl (local.get $run) (i32.const 2))))
        (local.set $vectorEnd (i32.add (local.get $at) (i32.and (i32.shl (local.get $run) (i32.const 2)) (i32.const -16))))
        (block $vectorsDone
          (loop $vectors
            (br_if $vectorsDone (i32.ge_u (local.get $at) (local.get $vectorEnd)))
            (v128.store (i32.add (local.get $out) (local.get $at)) (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $at))) (local.get $s)))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $vectors)))
        (block $scalarsDone
          (loop $scalars
            (br_if $scalarsDone (i32.ge_u (local.get $at) (local.get $runEnd)))
            (f32.store (i32.add (local.get $out) (local.get $at)) (f32.mul (f32.load (i32.add (local.get $x) (local.get $at))) (f32.load (local.get $m))))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (br $scalars)))
        (local.set $m (i32.add (local.get $m) (i32.const 4)))
        (br $runs))))
  ;; The bias gradient: out[j] = f32(out[j] + sum over i of g[i][j]) for the m x n row-major g, each
  ;; column summed in float64 over i in order at $sums (n doubles); two columns side by side.
  (func (export "addColumnSums") (param $g i32) (param $m i32) (param $n i32) (param $sums i32) (param $out i32)
    (local $row i32) (local $rowEnd i32) (local $pairsEnd i32) (local $at i32) (local $sum i32) (local $end i32)
    (local.set $end (i32.add (local.get $sums) (i32.shl (local.get $n) (i32.const 3))))
    (local.set $sum (local.get $sums))
    (block $zeroDone
      (loop $zero
        (br_if $zeroDone (i32.ge_u (local.get $sum) (local.get $end)))
        (f64.store (local.get $sum) (f64.const 0))
        (local.set $sum (i32.add (local.get $sum) (i32.const 8)))
        (br $zero)))
    (local.set $row (local.get $g))
    (local.set $rowEnd (i32.add (local.get $g) (i32.shl (i32.mul (local.get $m) (local.get $n)) (i32.const 2))))
    (local.set $pairsEnd (i32.and (local.get $n) (i32.const -2)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rowEnd)))
        (local.set $at (local.get $row))
        (local.set $sum (local.get $sums))
        (local.set $end (i32.add (local.get $row) (i32.shl (local.get $pairsEnd) (i32.const 2))))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $at) (local.get $end)))
            (v128.store (local.get $sum) (f64x2.add (v128.load (local.get $sum)) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 8)))
            (local.set $sum (i32.add (local.get $sum) (i32.const 16)))
            (br $pairs)))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $n) (i32.const 2))))
        (if (i32.lt_u (local.get $at) (local.get $row))
          (then (f64.store (local.get $sum) (f64.add (f64.load (local.get $sum)) (f64.promote_f32 (f32.load (local.get $at)))))))
        (br $rows)))
    (local.set $at (local.get $out))
    (local.set $sum (local.get $sums))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $outDone
      (loop $outs
        (br_if $outDone (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (local.get $at) (f32.demote_f64 (f64.add (f64.promote_f32 (f32.load (local.get $at))) (f64.load (local.get $sum)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (local.set $sum (i32.add (local.get $sum) (i32.const 8)))
        (br $outs))))
)
