;; Element-wise passes of the layers that sit between the matrix products, branch-free with 128-bit
;; SIMD: a random sign pattern or dropout mask defeats the branch predictor of a scalar loop.
;; Each result has the bits of the scalar definition in the comment above its function.
;; $n floats from $x (and $y) to $out; four at a time, then one at a time.
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
)
