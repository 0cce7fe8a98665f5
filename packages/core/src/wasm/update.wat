;; The optimizer step of lockstep in float32 with 128-bit SIMD, over the trainers' shared memory.
;; Every function works on the float range [from, to) of arrays given as byte addresses: four floats
;; at a time in a loop with no branch but its exit, then the last 0-3 elements one at a time in lane 0
;; through the same formula, so the bits of an element never depend on where a range starts or ends.
;; (A single loop that chose between a whole and a one-float load or store at every step ran at half
;; the speed.) Float32 multiply then add (no fused multiply-add), rounded after each operation as
;; PyTorch's float32 optimizers do.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; The first element at or after $from from which fewer than four remain before $to.
  (func $tailStart (param $from i32) (param $to i32) (result i32)
    (select
      (i32.sub (local.get $to) (i32.and (i32.sub (local.get $to) (local.get $from)) (i32.const 3)))
      (local.get $from)
      (i32.gt_u (local.get $to) (local.get $from))))

  ;; Adds the float range of $source into $target.
  (func $addInto (param $target i32) (param $source i32) (param $from i32) (param $to i32)
    (local $i i32) (local $tail i32) (local $at i32)
    (local.set $tail (call $tailStart (local.get $from) (local.get $to)))
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $tail)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (v128.store (i32.add (local.get $target) (local.get $at))
          (f32x4.add (v128.load (i32.add (local.get $target) (local.get $at))) (v128.load (i32.add (local.get $source) (local.get $at)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (f32.store (i32.add (local.get $target) (local.get $at))
          (f32.add (f32.load (i32.add (local.get $target) (local.get $at))) (f32.load (i32.add (local.get $source) (local.get $at)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; Sums `chunks` gradient slots ($slotBytes apart) into slot 0 over [from, to) in lockstep's
  ;; pairwise tree over chunk index: 1 into 0, 3 into 2, ...; then 2 into 0, 6 into 4, ...
  (func (export "reduce") (param $slots i32) (param $slotBytes i32) (param $chunks i32) (param $from i32) (param $to i32)
    (local $stride i32) (local $c i32)
    (local.set $stride (i32.const 1))
    (block $strideDone
      (loop $strides
        (br_if $strideDone (i32.ge_u (local.get $stride) (local.get $chunks)))
        (local.set $c (i32.const 0))
        (block $chunkDone
          (loop $pairs
            (br_if $chunkDone (i32.ge_u (i32.add (local.get $c) (local.get $stride)) (local.get $chunks)))
            (call $addInto
              (i32.add (local.get $slots) (i32.mul (local.get $c) (local.get $slotBytes)))
              (i32.add (local.get $slots) (i32.mul (i32.add (local.get $c) (local.get $stride)) (local.get $slotBytes)))
              (local.get $from) (local.get $to))
            (local.set $c (i32.add (local.get $c) (i32.shl (local.get $stride) (i32.const 1))))
            (br $pairs)))
        (local.set $stride (i32.shl (local.get $stride) (i32.const 1)))
        (br $strides))))

  ;; The sum of squares of [from, to) in float64: four lanes take the elements from + 4q + l while four
  ;; remain, lane 0 takes the last ones, and the lanes are added as ((0 + 1) + (2 + 3)).
  (func (export "squares") (param $values i32) (param $from i32) (param $to i32) (result f64)
    (local $i i32) (local $tail i32) (local $x v128) (local $low v128) (local $high v128)
    (local $lanes01 v128) (local $lanes23 v128) (local $lane0 f64) (local $last f64)
    (local.set $tail (call $tailStart (local.get $from) (local.get $to)))
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $tail)))
        (local.set $x (v128.load (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $low (f64x2.promote_low_f32x4 (local.get $x)))
        (local.set $high (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $x) (local.get $x))))
        (local.set $lanes01 (f64x2.add (local.get $lanes01) (f64x2.mul (local.get $low) (local.get $low))))
        (local.set $lanes23 (f64x2.add (local.get $lanes23) (f64x2.mul (local.get $high) (local.get $high))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (local.set $lane0 (f64x2.extract_lane 0 (local.get $lanes01)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $last (f64.promote_f32 (f32.load (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2))))))
        (local.set $lane0 (f64.add (local.get $lane0) (f64.mul (local.get $last) (local.get $last))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (f64.add
      (f64.add (local.get $lane0) (f64x2.extract_lane 1 (local.get $lanes01)))
      (f64.add (f64x2.extract_lane 0 (local.get $lanes23)) (f64x2.extract_lane 1 (local.get $lanes23)))))

  ;; Multiplies [from, to) by $factor (gradient clipping).
  (func (export "scale") (param $values i32) (param $from i32) (param $to i32) (param $factor f32)
    (local $i i32) (local $tail i32) (local $at i32) (local $f v128)
    (local.set $f (f32x4.splat (local.get $factor)))
    (local.set $tail (call $tailStart (local.get $from) (local.get $to)))
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $tail)))
        (local.set $at (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2))))
        (v128.store (local.get $at) (f32x4.mul (v128.load (local.get $at)) (local.get $f)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $at (i32.add (local.get $values) (i32.shl (local.get $i) (i32.const 2))))
        (f32.store (local.get $at) (f32.mul (f32.load (local.get $at)) (local.get $factor)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; SGD as torch.optim.SGD: d = g + weightDecay p; with momentum, buf = keep buf + scale d (keep 0 and
  ;; scale 1 at the first step) and d = nesterov ? d + momentum buf : buf; then p = p - lr d.
  (func (export "sgd") (param $params i32) (param $grads i32) (param $buffers i32) (param $from i32) (param $to i32)
        (param $lr f32) (param $weightDecay f32) (param $hasMomentum i32) (param $keep f32) (param $scale f32)
        (param $nesterov i32) (param $momentum f32)
    (local $i i32) (local $tail i32) (local $at i32) (local $p v128) (local $d v128) (local $buf v128)
    (local $vLr v128) (local $vDecay v128) (local $vKeep v128) (local $vScale v128) (local $vMomentum v128)
    (local $p1 f32) (local $d1 f32) (local $buf1 f32)
    (local.set $vLr (f32x4.splat (local.get $lr)))
    (local.set $vDecay (f32x4.splat (local.get $weightDecay)))
    (local.set $vKeep (f32x4.splat (local.get $keep)))
    (local.set $vScale (f32x4.splat (local.get $scale)))
    (local.set $vMomentum (f32x4.splat (local.get $momentum)))
    (local.set $tail (call $tailStart (local.get $from) (local.get $to)))
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $tail)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $p (v128.load (i32.add (local.get $params) (local.get $at))))
        (local.set $d (f32x4.add (v128.load (i32.add (local.get $grads) (local.get $at))) (f32x4.mul (local.get $vDecay) (local.get $p))))
        (if (local.get $hasMomentum)
          (then
            (local.set $buf (f32x4.add
              (f32x4.mul (local.get $vKeep) (v128.load (i32.add (local.get $buffers) (local.get $at))))
              (f32x4.mul (local.get $vScale) (local.get $d))))
            (v128.store (i32.add (local.get $buffers) (local.get $at)) (local.get $buf))
            (local.set $d (select (result v128) (f32x4.add (local.get $d) (f32x4.mul (local.get $vMomentum) (local.get $buf))) (local.get $buf) (local.get $nesterov)))))
        (v128.store (i32.add (local.get $params) (local.get $at)) (f32x4.sub (local.get $p) (f32x4.mul (local.get $vLr) (local.get $d))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $p1 (f32.load (i32.add (local.get $params) (local.get $at))))
        (local.set $d1 (f32.add (f32.load (i32.add (local.get $grads) (local.get $at))) (f32.mul (local.get $weightDecay) (local.get $p1))))
        (if (local.get $hasMomentum)
          (then
            (local.set $buf1 (f32.add
              (f32.mul (local.get $keep) (f32.load (i32.add (local.get $buffers) (local.get $at))))
              (f32.mul (local.get $scale) (local.get $d1))))
            (f32.store (i32.add (local.get $buffers) (local.get $at)) (local.get $buf1))
            (local.set $d1 (select (result f32) (f32.add (local.get $d1) (f32.mul (local.get $momentum) (local.get $buf1))) (local.get $buf1) (local.get $nesterov)))))
        (f32.store (i32.add (local.get $params) (local.get $at)) (f32.sub (local.get $p1) (f32.mul (local.get $lr) (local.get $d1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; Adam and AdamW as torch.optim.Adam(W): AdamW first decays p by $decayFactor (1 - lr weightDecay),
  ;; Adam adds weightDecay p to g; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g g;
  ;; p = p - stepSize (m / (sqrt(v) / correction2 + eps)).
  (func (export "adam") (param $params i32) (param $grads i32) (param $means i32) (param $squares i32) (param $from i32) (param $to i32)
        (param $decoupled i32) (param $weightDecay f32) (param $decayFactor f32) (param $beta1 f32) (param $oneMinusBeta1 f32)
        (param $beta2 f32) (param $oneMinusBeta2 f32) (param $stepSize f32) (param $correction2 f32) (param $eps f32)
    (local $i i32) (local $tail i32) (local $at i32) (local $p v128) (local $g v128) (local $m v128) (local $v v128)
    (local $p1 f32) (local $g1 f32) (local $m1 f32) (local $v1 f32)
    (local.set $tail (call $tailStart (local.get $from) (local.get $to)))
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $tail)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $p (v128.load (i32.add (local.get $params) (local.get $at))))
        (local.set $g (v128.load (i32.add (local.get $grads) (local.get $at))))
        (if (local.get $decoupled)
          (then (local.set $p (f32x4.mul (local.get $p) (f32x4.splat (local.get $decayFactor)))))
          (else (local.set $g (f32x4.add (local.get $g) (f32x4.mul (f32x4.splat (local.get $weightDecay)) (local.get $p))))))
        (local.set $m (f32x4.add
          (f32x4.mul (f32x4.splat (local.get $beta1)) (v128.load (i32.add (local.get $means) (local.get $at))))
          (f32x4.mul (f32x4.splat (local.get $oneMinusBeta1)) (local.get $g))))
        (local.set $v (f32x4.add
          (f32x4.mul (f32x4.splat (local.get $beta2)) (v128.load (i32.add (local.get $squares) (local.get $at))))
          (f32x4.mul (f32x4.splat (local.get $oneMinusBeta2)) (f32x4.mul (local.get $g) (local.get $g)))))
        (v128.store (i32.add (local.get $means) (local.get $at)) (local.get $m))
        (v128.store (i32.add (local.get $squares) (local.get $at)) (local.get $v))
        (v128.store (i32.add (local.get $params) (local.get $at)) (f32x4.sub (local.get $p)
          (f32x4.mul (f32x4.splat (local.get $stepSize))
            (f32x4.div (local.get $m)
              (f32x4.add (f32x4.div (f32x4.sqrt (local.get $v)) (f32x4.splat (local.get $correction2))) (f32x4.splat (local.get $eps)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $at (i32.shl (local.get $i) (i32.const 2)))
        (local.set $p1 (f32.load (i32.add (local.get $params) (local.get $at))))
        (local.set $g1 (f32.load (i32.add (local.get $grads) (local.get $at))))
        (if (local.get $decoupled)
          (then (local.set $p1 (f32.mul (local.get $p1) (local.get $decayFactor))))
          (else (local.set $g1 (f32.add (local.get $g1) (f32.mul (local.get $weightDecay) (local.get $p1))))))
        (local.set $m1 (f32.add
          (f32.mul (local.get $beta1) (f32.load (i32.add (local.get $means) (local.get $at))))
          (f32.mul (local.get $oneMinusBeta1) (local.get $g1))))
        (local.set $v1 (f32.add
          (f32.mul (local.get $beta2) (f32.load (i32.add (local.get $squares) (local.get $at))))
          (f32.mul (local.get $oneMinusBeta2) (f32.mul (local.get $g1) (local.get $g1)))))
        (f32.store (i32.add (local.get $means) (local.get $at)) (local.get $m1))
        (f32.store (i32.add (local.get $squares) (local.get $at)) (local.get $v1))
        (f32.store (i32.add (local.get $params) (local.get $at)) (f32.sub (local.get $p1)
          (f32.mul (local.get $stepSize)
            (f32.div (local.get $m1) (f32.add (f32.div (f32.sqrt (local.get $v1)) (local.get $correction2)) (local.get $eps))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)
