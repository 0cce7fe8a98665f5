;; The data movement around a convolution's matrix products, and max pooling: im2col and col2im
;; (ops/im2col.ts) on the patches' transposed matrix (one row per window element, one column per
;; output position), the transposes between NCHW planes and a product's rows, a max-pool's forward
;; and backward. Addresses are byte addresses; sizes count floats. Each function gives the bits of
;; its scalar definition in ops/im2col.ts or modules/pool.ts: values are moved, not computed, except
;; col2im's and the pool backward's float32 additions, each value's made in the definition's order.
(module
  (memory (export "memory") 1)
  ;; im2col, transposed: row f = (channel, kh, kw) of $columns holds that window value of every
  ;; position (n, oh, ow), in order, for channels [first, first + count); padding reads 0. Along a row
  ;; of positions, a window value's image column moves by the stride, so with stride 1 each run of
  ;; values inside the image is one block of the image row, copied four values at a time. When the
  ;; output rows are as wide as the image's and both strides are 1 (a "same" convolution), the runs of
  ;; consecutive rows are one block of the image: copied at once, then the positions in the padding
  ;; between them set to 0.
  (func (export "imagesToColumns") (param $images i32) (param $columns i32) (param $samples i32) (param $channels i32)
    (param $height i32) (param $width i32) (param $first i32) (param $count i32) (param $kH i32) (param $kW i32)
    (param $sH i32) (param $sW i32) (param $pH i32) (param $pW i32) (param $dH i32) (param $dW i32)
    (param $outH i32) (param $outW i32)
    (local $n i32) (local $c i32) (local $kh i32) (local $kw i32) (local $oh i32) (local $ih i32)
    (local $planeBytes i32) (local $rowBytes i32) (local $sampleBytes i32) (local $featureBytes i32)
    (local $plane i32) (local $offset i32) (local $lo i32) (local $hi i32) (local $dst i32) (local $sameRows i32)
    (local.set $sameRows (i32.and (i32.and (i32.eq (local.get $sH) (i32.const 1)) (i32.eq (local.get $sW) (i32.const 1)))
                                  (i32.eq (local.get $outW) (local.get $width))))
    (local.set $planeBytes (i32.shl (i32.mul (local.get $height) (local.get $width)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $outW) (i32.const 2)))
    (local.set $sampleBytes (i32.mul (local.get $rowBytes) (local.get $outH)))
    (local.set $featureBytes (i32.mul (local.get $sampleBytes) (local.get $samples)))
    (loop $samplesLoop (if (i32.lt_u (local.get $n) (local.get $samples)) (then
      (local.set $c (i32.const 0))
      (loop $cLoop (if (i32.lt_u (local.get $c) (local.get $count)) (then
        (local.set $plane (i32.add (local.get $images) (i32.mul (i32.add (i32.mul (local.get $n) (local.get $channels))
          (i32.add (local.get $first) (local.get $c))) (local.get $planeBytes))))
        (local.set $kh (i32.const 0))
        (loop $khLoop (if (i32.lt_u (local.get $kh) (local.get $kH)) (then
          (local.set $kw (i32.const 0))
          (loop $kwLoop (if (i32.lt_u (local.get $kw) (local.get $kW)) (then
            ;; the image column of position ow is ow * sW + offset; [lo, hi) are the positions inside
            (local.set $offset (i32.sub (i32.mul (local.get $kw) (local.get $dW)) (local.get $pW)))
            (local.set $lo (call $firstAtLeast (local.get $offset) (local.get $sW) (i32.const 0) (local.get $outW)))
            (local.set $hi (call $firstAtLeast (local.get $offset) (local.get $sW) (local.get $width) (local.get $outW)))
            (if (i32.lt_u (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
            (local.set $dst (i32.add (i32.add (local.get $columns) (i32.mul (local.get $n) (local.get $sampleBytes)))
              (i32.mul (call $feature (local.get $c) (local.get $kh) (local.get $kw) (local.get $kH) (local.get $kW)) (local.get $featureBytes))))
            (local.set $oh (i32.const 0))
            (if (local.get $sameRows) (then
              (call $sameRowsToColumn (local.get $dst) (local.get $plane) (local.get $height) (local.get $outH) (local.get $outW)
                (i32.sub (local.get $pH) (i32.mul (local.get $kh) (local.get $dH))) (local.get $offset) (local.get $lo) (local.get $hi))
              (local.set $oh (local.get $outH))))
            (loop $ohLoop (if (i32.lt_u (local.get $oh) (local.get $outH)) (then
              (local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $pH)) (i32.mul (local.get $kh) (local.get $dH))))
              (if (i32.lt_u (local.get $ih) (local.get $height))
                (then
                  (call $zeros (local.get $dst) (local.get $lo))
                  (call $copy (i32.add (local.get $dst) (i32.shl (local.get $lo) (i32.const 2)))
                    (i32.add (local.get $plane) (i32.shl (i32.add (i32.mul (local.get $ih) (local.get $width))
                      (i32.add (i32.mul (local.get $lo) (local.get $sW)) (local.get $offset))) (i32.const 2)))
                    (i32.sub (local.get $hi) (local.get $lo)) (local.get $sW))
                  (call $zeros (i32.add (local.get $dst) (i32.shl (local.get $hi) (i32.const 2))) (i32.sub (local.get $outW) (local.get $hi))))
                (else (call $zeros (local.get $dst) (local.get $outW))))
              (local.set $dst (i32.add (local.get $dst) (local.get $rowBytes)))
              (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
              (br $ohLoop))))
            (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
            (br $kwLoop))))
          (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
          (br $khLoop))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cLoop))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $samplesLoop)))))
  ;; col2im from $columns laid out as imagesToColumns makes them: each value added to the image
  ;; position it came from, in float32, padding skipped. The definition adds in (sample, output
  ;; position, channel, kh, kw) order; an image value's windows come in increasing output position,
  ;; which is decreasing kh and, within one kh, decreasing kw, so walking kh and kw down (each kernel
  ;; element's positions together: no two of them reach the same image value) adds every image value's
  ;; terms in the same order. With stride 1, four at a time.
  (func (export "addColumnsToImages") (param $columns i32) (param $images i32) (param $samples i32) (param $channels i32)
    (param $height i32) (param $width i32) (param $first i32) (param $count i32) (param $kH i32) (param $kW i32)
    (param $sH i32) (param $sW i32) (param $pH i32) (param $pW i32) (param $dH i32) (param $dW i32)
    (param $outH i32) (param $outW i32)
    (local $n i32) (local $c i32) (local $kh i32) (local $kw i32) (local $oh i32) (local $ih i32)
    (local $planeBytes i32) (local $rowBytes i32) (local $sampleBytes i32) (local $featureBytes i32)
    (local $plane i32) (local $offset i32) (local $lo i32) (local $hi i32) (local $src i32)
    (local.set $planeBytes (i32.shl (i32.mul (local.get $height) (local.get $width)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (local.get $outW) (i32.const 2)))
    (local.set $sampleBytes (i32.mul (local.get $rowBytes) (local.get $outH)))
    (local.set $featureBytes (i32.mul (local.get $sampleBytes) (local.get $samples)))
    (loop $samplesLoop (if (i32.lt_u (local.get $n) (local.get $samples)) (then
      (local.set $c (i32.const 0))
      (loop $cLoop (if (i32.lt_u (local.get $c) (local.get $count)) (then
        (local.set $plane (i32.add (local.get $images) (i32.mul (i32.add (i32.mul (local.get $n) (local.get $channels))
          (i32.add (local.get $first) (local.get $c))) (local.get $planeBytes))))
        (local.set $kh (local.get $kH))
        (loop $khLoop (if (i32.gt_u (local.get $kh) (i32.const 0)) (then
          (local.set $kh (i32.sub (local.get $kh) (i32.const 1)))
          (local.set $kw (local.get $kW))
          (loop $kwLoop (if (i32.gt_u (local.get $kw) (i32.const 0)) (then
            (local.set $kw (i32.sub (local.get $kw) (i32.const 1)))
            (local.set $offset (i32.sub (i32.mul (local.get $kw) (local.get $dW)) (local.get $pW)))
            (local.set $lo (call $firstAtLeast (local.get $offset) (local.get $sW) (i32.const 0) (local.get $outW)))
            (local.set $hi (call $firstAtLeast (local.get $offset) (local.get $sW) (local.get $width) (local.get $outW)))
            (local.set $src (i32.add (i32.add (local.get $columns) (i32.mul (local.get $n) (local.get $sampleBytes)))
              (i32.mul (call $feature (local.get $c) (local.get $kh) (local.get $kw) (local.get $kH) (local.get $kW)) (local.get $featureBytes))))
            (local.set $oh (i32.const 0))
            (loop $ohLoop (if (i32.lt_u (local.get $oh) (local.get $outH)) (then
              (local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $pH)) (i32.mul (local.get $kh) (local.get $dH))))
              (if (i32.and (i32.lt_u (local.get $ih) (local.get $height)) (i32.lt_u (local.get $lo) (local.get $hi)))
                (then
                  (call $addInto
                    (i32.add (local.get $plane) (i32.shl (i32.add (i32.mul (local.get $ih) (local.get $width))
                      (i32.add (i32.mul (local.get $lo) (local.get $sW)) (local.get $offset))) (i32.const 2)))
                    (i32.add (local.get $src) (i32.shl (local.get $lo) (i32.const 2)))
                    (i32.sub (local.get $hi) (local.get $lo)) (local.get $sW))))
              (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
              (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
              (br $ohLoop))))
            (br $kwLoop))))
          (br $khLoop))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cLoop))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $samplesLoop)))))
  ;; One window element's values at every position of a sample, for a convolution with strides 1 whose
  ;; output rows are as wide as the image's: output row oh reads image row oh - $shift, its positions
  ;; [lo, hi) the image columns ow + $offset, and the others are padding. From the first inside row's
  ;; position lo to the last one's hi, positions and image columns advance together, so that stretch is
  ;; one copy; the positions in it between two rows' runs, and all outside it, are then set to 0.
  (func $sameRowsToColumn (param $dst i32) (param $plane i32) (param $height i32) (param $outH i32) (param $outW i32)
    (param $shift i32) (param $offset i32) (param $lo i32) (param $hi i32)
    (local $first i32) (local $end i32) (local $oh i32) (local $at i32)
    ;; inside rows: 0 <= oh - shift < height
    (local.set $first (select (local.get $shift) (i32.const 0) (i32.gt_s (local.get $shift) (i32.const 0))))
    (local.set $end (i32.add (local.get $height) (local.get $shift)))
    (if (i32.gt_s (local.get $end) (local.get $outH)) (then (local.set $end (local.get $outH))))
    (if (i32.or (i32.ge_s (local.get $first) (local.get $end)) (i32.ge_u (local.get $lo) (local.get $hi))) (then
      (call $zeros (local.get $dst) (i32.mul (local.get $outH) (local.get $outW)))
      (return)))
    (local.set $at (i32.add (i32.mul (local.get $first) (local.get $outW)) (local.get $lo)))
    (call $zeros (local.get $dst) (local.get $at))
    (call $copy (i32.add (local.get $dst) (i32.shl (local.get $at) (i32.const 2)))
      (i32.add (local.get $plane) (i32.shl (i32.add (i32.mul (i32.sub (local.get $first) (local.get $shift)) (local.get $outW))
        (i32.add (local.get $lo) (local.get $offset))) (i32.const 2)))
      (i32.add (i32.mul (i32.sub (i32.sub (local.get $end) (local.get $first)) (i32.const 1)) (local.get $outW)) (i32.sub (local.get $hi) (local.get $lo)))
      (i32.const 1))
    (local.set $oh (local.get $first))
    (block $rowsDone (loop $rows
      (local.set $at (i32.add (i32.mul (local.get $oh) (local.get $outW)) (local.get $hi)))
      (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
      (br_if $rowsDone (i32.ge_s (local.get $oh) (local.get $end)))
      ;; this row's positions from hi on and the next row's before lo
      (call $zeros (i32.add (local.get $dst) (i32.shl (local.get $at) (i32.const 2))) (i32.add (i32.sub (local.get $outW) (local.get $hi)) (local.get $lo)))
      (br $rows)))
    (call $zeros (i32.add (local.get $dst) (i32.shl (local.get $at) (i32.const 2))) (i32.sub (i32.mul (local.get $outH) (local.get $outW)) (local.get $at))))
  ;; Row (c * kH + kh) * kW + kw of the columns: the window element's place in a patch.
  (func $feature (param $c i32) (param $kh i32) (param $kw i32) (param $kH i32) (param $kW i32) (result i32)
    (i32.add (i32.mul (i32.add (i32.mul (local.get $c) (local.get $kH)) (local.get $kh)) (local.get $kW)) (local.get $kw)))
  ;; The first position ow >= 0 whose image column ow * $stride + $offset is at least $limit, at most $outW.
  (func $firstAtLeast (param $offset i32) (param $stride i32) (param $limit i32) (param $outW i32) (result i32)
    (local $ow i32)
    (if (i32.ge_s (local.get $offset) (local.get $limit)) (then (return (i32.const 0))))
    (local.set $ow (i32.div_u (i32.add (i32.sub (local.get $limit) (local.get $offset)) (i32.sub (local.get $stride) (i32.const 1))) (local.get $stride)))
    (select (local.get $ow) (local.get $outW) (i32.lt_u (local.get $ow) (local.get $outW))))
  ;; $count zeros from $dst on.
  (func $zeros (param $dst i32) (param $count i32)
    (local $end i32) (local $vectorEnd i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $vectorEnd (i32.add (local.get $dst) (i32.shl (i32.and (local.get $count) (i32.const -4)) (i32.const 2))))
    (block $vectorsDone (loop $vectors
      (br_if $vectorsDone (i32.ge_u (local.get $dst) (local.get $vectorEnd)))
      (v128.store (local.get $dst) (v128.const i32x4 0 0 0 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (br $vectors)))
    (block $done (loop $values
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (f32.store (local.get $dst) (f32.const 0))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (br $values))))
  ;; $count values to $dst, one after another, from $src, $stride values apart.
  (func $copy (param $dst i32) (param $src i32) (param $count i32) (param $stride i32)
    (local $end i32) (local $vectorEnd i32) (local $step i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $count) (i32.const 2))))
    (if (i32.eq (local.get $stride) (i32.const 1)) (then
      (local.set $vectorEnd (i32.add (local.get $dst) (i32.shl (i32.and (local.get $count) (i32.const -4)) (i32.const 2))))
      (block $vectorsDone (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $dst) (local.get $vectorEnd)))
        (v128.store (local.get $dst) (v128.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $vectors)))))
    (local.set $step (i32.shl (local.get $stride) (i32.const 2)))
    (block $done (loop $values
      (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
      (f32.store (local.get $dst) (f32.load (local.get $src)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
      (local.set $src (i32.add (local.get $src) (local.get $step)))
      (br $values))))
  ;; image[i * $stride] = image[i * $stride] + values[i] in float32, for i < $count.
  (func $addInto (param $image i32) (param $values i32) (param $count i32) (param $stride i32)
    (local $end i32) (local $vectorEnd i32) (local $step i32)
    (local.set $end (i32.add (local.get $values) (i32.shl (local.get $count) (i32.const 2))))
    (if (i32.eq (local.get $stride) (i32.const 1)) (then
      (local.set $vectorEnd (i32.add (local.get $values) (i32.shl (i32.and (local.get $count) (i32.const -4)) (i32.const 2))))
      (block $vectorsDone (loop $vectors
        (br_if $vectorsDone (i32.ge_u (local.get $values) (local.get $vectorEnd)))
        (v128.store (local.get $image) (f32x4.add (v128.load (local.get $image)) (v128.load (local.get $values))))
        (local.set $image (i32.add (local.get $image) (i32.const 16)))
        (local.set $values (i32.add (local.get $values) (i32.const 16)))
        (br $vectors)))))
    (local.set $step (i32.shl (local.get $stride) (i32.const 2)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $values) (local.get $end)))
      (f32.store (local.get $image) (f32.add (f32.load (local.get $image)) (f32.load (local.get $values))))
      (local.set $image (i32.add (local.get $image) (local.get $step)))
      (local.set $values (i32.add (local.get $values) (i32.const 4)))
      (br $each))))
  ;; rows[(n * plane + p) * count + o] = planes[((n * channels + first + o) * plane + p)]: channels
  ;; [first, first + count) of NCHW planes as the rows of a product (one row per position), and back
  ;; with $toPlanes = 1 (planes[...] = rows[...], or rows[...] + bias[o] in float32 with $withBias = 1:
  ;; a convolution's product and its bias). With $rectify = 1, a ReLU rides along: to the planes,
  ;; each value v becomes v < 0 ? 0 : v (relu's bits); to the rows, a gradient value is kept where
  ;; $signs (planes laid out like $planes: the rectified output) is > 0 and is 0 elsewhere (relu's
  ;; backward, since relu(x) > 0 exactly where x > 0).
  (func (export "transpose") (param $planes i32) (param $rows i32) (param $bias i32) (param $signs i32) (param $samples i32) (param $channels i32)
    (param $first i32) (param $count i32) (param $plane i32) (param $toPlanes i32) (param $withBias i32) (param $rectify i32)
    (local $n i32) (local $p i32) (local $o i32) (local $at i32) (local $from i32) (local $step i32)
    (local $src i32) (local $srcStride i32) (local $dst i32) (local $dstStride i32) (local $add v128) (local $sign i32) (local $v f32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $withBias (i32.and (local.get $withBias) (local.get $toPlanes)))
    (local.set $at (local.get $rows))
    (local.set $step (i32.shl (local.get $plane) (i32.const 2)))
    (if (i32.eqz (i32.and (i32.or (local.get $count) (local.get $plane)) (i32.const 3))) (then
      ;; Blocks of 4 positions x 4 channels: four vectors read along one side, transposed in registers,
      ;; written along the other (rows: a position's 4 channels; planes: a channel's 4 positions).
      (local.set $srcStride (select (i32.shl (local.get $count) (i32.const 2)) (local.get $step) (local.get $toPlanes)))
      (local.set $dstStride (select (local.get $step) (i32.shl (local.get $count) (i32.const 2)) (local.get $toPlanes)))
      (loop $blockSamples (if (i32.lt_u (local.get $n) (local.get $samples)) (then
        (local.set $p (i32.const 0))
        (loop $blockPositions (if (i32.lt_u (local.get $p) (local.get $plane)) (then
          (local.set $o (i32.const 0))
          (loop $blockOutputs (if (i32.lt_u (local.get $o) (local.get $count)) (then
            (local.set $from (i32.add (local.get $planes) (i32.shl (i32.add (i32.mul
              (i32.add (i32.add (i32.mul (local.get $n) (local.get $channels)) (local.get $first)) (local.get $o)) (local.get $plane)) (local.get $p))
              (i32.const 2))))
            (local.set $at (i32.add (local.get $rows) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $plane)) (local.get $p))
              (local.get $count)) (local.get $o)) (i32.const 2))))
            (local.set $src (select (local.get $at) (local.get $from) (local.get $toPlanes)))
            (local.set $dst (select (local.get $from) (local.get $at) (local.get $toPlanes)))
            (local.set $v0 (v128.load (local.get $src)))
            (local.set $v1 (v128.load (i32.add (local.get $src) (local.get $srcStride))))
            (local.set $v2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $srcStride) (i32.const 1)))))
            (local.set $v3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $srcStride) (i32.const 3)))))
            (if (local.get $withBias) (then
              (local.set $add (v128.load (i32.add (local.get $bias) (i32.shl (local.get $o) (i32.const 2)))))
              (local.set $v0 (f32x4.add (local.get $v0) (local.get $add)))
              (local.set $v1 (f32x4.add (local.get $v1) (local.get $add)))
              (local.set $v2 (f32x4.add (local.get $v2) (local.get $add)))
              (local.set $v3 (f32x4.add (local.get $v3) (local.get $add)))))
            (if (local.get $rectify) (then
              (if (local.get $toPlanes)
                (then
                  (local.set $v0 (v128.andnot (local.get $v0) (f32x4.lt (local.get $v0) (v128.const f32x4 0 0 0 0))))
                  (local.set $v1 (v128.andnot (local.get $v1) (f32x4.lt (local.get $v1) (v128.const f32x4 0 0 0 0))))
                  (local.set $v2 (v128.andnot (local.get $v2) (f32x4.lt (local.get $v2) (v128.const f32x4 0 0 0 0))))
                  (local.set $v3 (v128.andnot (local.get $v3) (f32x4.lt (local.get $v3) (v128.const f32x4 0 0 0 0)))))
                (else
                  (local.set $sign (i32.add (local.get $signs) (i32.sub (local.get $from) (local.get $planes))))
                  (local.set $v0 (v128.and (local.get $v0) (f32x4.gt (v128.load (local.get $sign)) (v128.const f32x4 0 0 0 0))))
                  (local.set $v1 (v128.and (local.get $v1)
                    (f32x4.gt (v128.load (i32.add (local.get $sign) (local.get $srcStride))) (v128.const f32x4 0 0 0 0))))
                  (local.set $v2 (v128.and (local.get $v2)
                    (f32x4.gt (v128.load (i32.add (local.get $sign) (i32.shl (local.get $srcStride) (i32.const 1)))) (v128.const f32x4 0 0 0 0))))
                  (local.set $v3 (v128.and (local.get $v3)
                    (f32x4.gt (v128.load (i32.add (local.get $sign) (i32.mul (local.get $srcStride) (i32.const 3)))) (v128.const f32x4 0 0 0 0))))))))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $dst) (local.get $dstStride)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $dst) (i32.shl (local.get $dstStride) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store (i32.add (local.get $dst) (i32.mul (local.get $dstStride) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $blockOutputs))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $blockPositions))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $blockSamples))))
      (return)))
    (loop $samplesLoop (if (i32.lt_u (local.get $n) (local.get $samples)) (then
      (local.set $p (i32.const 0))
      (loop $positions (if (i32.lt_u (local.get $p) (local.get $plane)) (then
        (local.set $from (i32.add (local.get $planes) (i32.shl
          (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $channels)) (local.get $first)) (local.get $plane)) (local.get $p))
          (i32.const 2))))
        (local.set $o (i32.const 0))
        (loop $outputs (if (i32.lt_u (local.get $o) (local.get $count)) (then
          (if (local.get $toPlanes)
            (then
              (local.set $v (f32.load (local.get $at)))
              (if (local.get $withBias) (then (local.set $v (f32.add (local.get $v) (f32.load (i32.add (local.get $bias) (i32.shl (local.get $o) (i32.const 2))))))))
              (if (i32.and (local.get $rectify) (f32.lt (local.get $v) (f32.const 0))) (then (local.set $v (f32.const 0))))
              (f32.store (local.get $from) (local.get $v)))
            (else
              (local.set $v (f32.load (local.get $from)))
              (if (i32.and (local.get $rectify)
                    (i32.eqz (f32.gt (f32.load (i32.add (local.get $signs) (i32.sub (local.get $from) (local.get $planes)))) (f32.const 0))))
                (then (local.set $v (f32.const 0))))
              (f32.store (local.get $at) (local.get $v))))
          (local.set $at (i32.add (local.get $at) (i32.const 4)))
          (local.set $from (i32.add (local.get $from) (local.get $step)))
          (local.set $o (i32.add (local.get $o) (i32.const 1)))
          (br $outputs))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $positions))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $samplesLoop)))))
  ;; Max pooling over each of $planes planes: out = the first largest value of each window in
  ;; (kh, kw) order, padding skipped (x > best, so NaN wins only as a window's first value), and
  ;; winners (i32) = its index in x, -1 for a window of padding only (best then -Infinity).
  (func (export "maxPool") (param $x i32) (param $out i32) (param $winners i32) (param $planes i32)
    (param $height i32) (param $width i32) (param $kH i32) (param $kW i32) (param $sH i32) (param $sW i32)
    (param $pH i32) (param $pW i32) (param $outH i32) (param $outW i32)
    (local $plane i32) (local $oh i32) (local $ow i32) (local $kh i32) (local $kw i32) (local $ih i32) (local $iw i32)
    (local $index i32) (local $winner i32) (local $wins i32) (local $best f32) (local $v f32) (local $at i32)
    (local $twoByTwo i32) (local $from i32) (local $low v128) (local $high v128) (local $vBest v128) (local $vNext v128)
    (local $vWinner v128) (local $vIndex v128) (local $mask v128)
    (local.set $twoByTwo (i32.eqz (i32.or (i32.or (i32.or (i32.xor (local.get $kH) (i32.const 2)) (i32.xor (local.get $kW) (i32.const 2)))
                                                  (i32.or (i32.xor (local.get $sH) (i32.const 2)) (i32.xor (local.get $sW) (i32.const 2))))
                                          (i32.or (local.get $pH) (local.get $pW)))))
    (loop $planesLoop (if (i32.lt_u (local.get $plane) (local.get $planes)) (then
      (local.set $oh (i32.const 0))
      (loop $ohLoop (if (i32.lt_u (local.get $oh) (local.get $outH)) (then
        (local.set $ow (i32.const 0))
        (loop $owLoop (if (i32.lt_u (local.get $ow) (local.get $outW)) (then
          (if (i32.and (local.get $twoByTwo) (i32.le_u (i32.add (local.get $ow) (i32.const 4)) (local.get $outW))) (then
            ;; 2x2 windows of stride 2 without padding, four side by side: the same comparisons in the
            ;; same order, lane by lane (a window's top left value first, then top right, bottom left,
            ;; bottom right, each taking over only when larger)
            (local.set $index (i32.add (i32.mul (i32.add (i32.mul (local.get $plane) (local.get $height))
              (i32.shl (local.get $oh) (i32.const 1))) (local.get $width)) (i32.shl (local.get $ow) (i32.const 1))))
            (local.set $from (i32.add (local.get $x) (i32.shl (local.get $index) (i32.const 2))))
            (local.set $low (v128.load (local.get $from)))
            (local.set $high (v128.load offset=16 (local.get $from)))
            (local.set $vBest (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $low) (local.get $high)))
            (local.set $vWinner (i32x4.add (i32x4.splat (local.get $index)) (v128.const i32x4 0 2 4 6)))
            (local.set $vNext (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $low) (local.get $high)))
            (local.set $mask (f32x4.gt (local.get $vNext) (local.get $vBest)))
            (local.set $vBest (v128.bitselect (local.get $vNext) (local.get $vBest) (local.get $mask)))
            (local.set $vWinner (v128.bitselect (i32x4.add (local.get $vWinner) (v128.const i32x4 1 1 1 1)) (local.get $vWinner) (local.get $mask)))
            (local.set $from (i32.add (local.get $from) (i32.shl (local.get $width) (i32.const 2))))
            (local.set $low (v128.load (local.get $from)))
            (local.set $high (v128.load offset=16 (local.get $from)))
            (local.set $vIndex (i32x4.add (i32x4.splat (i32.add (local.get $index) (local.get $width))) (v128.const i32x4 0 2 4 6)))
            (local.set $vNext (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $low) (local.get $high)))
            (local.set $mask (f32x4.gt (local.get $vNext) (local.get $vBest)))
            (local.set $vBest (v128.bitselect (local.get $vNext) (local.get $vBest) (local.get $mask)))
            (local.set $vWinner (v128.bitselect (local.get $vIndex) (local.get $vWinner) (local.get $mask)))
            (local.set $vNext (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $low) (local.get $high)))
            (local.set $mask (f32x4.gt (local.get $vNext) (local.get $vBest)))
            (local.set $vBest (v128.bitselect (local.get $vNext) (local.get $vBest) (local.get $mask)))
            (local.set $vWinner (v128.bitselect (i32x4.add (local.get $vIndex) (v128.const i32x4 1 1 1 1)) (local.get $vWinner) (local.get $mask)))
            (v128.store (i32.add (local.get $out) (local.get $at)) (local.get $vBest))
            (v128.store (i32.add (local.get $winners) (local.get $at)) (local.get $vWinner))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (local.set $ow (i32.add (local.get $ow) (i32.const 4)))
            (br $owLoop)))
          (local.set $best (f32.const -inf))
          (local.set $winner (i32.const -1))
          (local.set $kh (i32.const 0))
          (loop $khLoop (if (i32.lt_u (local.get $kh) (local.get $kH)) (then
            (local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sH)) (local.get $pH)) (local.get $kh)))
            (if (i32.lt_u (local.get $ih) (local.get $height)) (then
              (local.set $iw (i32.sub (i32.mul (local.get $ow) (local.get $sW)) (local.get $pW)))
              (local.set $kw (i32.const 0))
              (loop $kwLoop (if (i32.lt_u (local.get $kw) (local.get $kW)) (then
                (if (i32.lt_u (local.get $iw) (local.get $width)) (then
                  (local.set $index (i32.add (i32.mul (i32.add (i32.mul (local.get $plane) (local.get $height)) (local.get $ih)) (local.get $width)) (local.get $iw)))
                  (local.set $v (f32.load (i32.add (local.get $x) (i32.shl (local.get $index) (i32.const 2)))))
                  ;; branch-free: the comparison of random values defeats a branch predictor
                  (local.set $wins (i32.or (i32.lt_s (local.get $winner) (i32.const 0)) (f32.gt (local.get $v) (local.get $best))))
                  (local.set $best (select (local.get $v) (local.get $best) (local.get $wins)))
                  (local.set $winner (select (local.get $index) (local.get $winner) (local.get $wins)))))
                (local.set $iw (i32.add (local.get $iw) (i32.const 1)))
                (local.set $kw (i32.add (local.get $kw) (i32.const 1)))
                (br $kwLoop))))))
            (local.set $kh (i32.add (local.get $kh) (i32.const 1)))
            (br $khLoop))))
          (f32.store (i32.add (local.get $out) (local.get $at)) (local.get $best))
          (i32.store (i32.add (local.get $winners) (local.get $at)) (local.get $winner))
          (local.set $at (i32.add (local.get $at) (i32.const 4)))
          (local.set $ow (i32.add (local.get $ow) (i32.const 1)))
          (br $owLoop))))
        (local.set $oh (i32.add (local.get $oh) (i32.const 1)))
        (br $ohLoop))))
      (local.set $plane (i32.add (local.get $plane) (i32.const 1)))
      (br $planesLoop)))))
  ;; The max pool's backward moved to a product's rows as transpose moves planes there, for channels
  ;; [first, first + count) of its input (NCHW planes of $plane values, $pooled outputs each): $rows
  ;; zeroed, then rows[(n * plane + p) * count + c - first] += g[o] in float32, p being winner o's
  ;; position in its plane; a winner of -1 adds nothing, and with $rectify = 1 neither does one where
  ;; the pool's output $y is not > 0: a ReLU's output there, copied. The bits of maxPoolBackward,
  ;; then reluBackward, then transpose: each value's terms come from one plane, added in output order,
  ;; and a ReLU keeps all of them or none. The channels go innermost, so that the rows written at
  ;; once are those of a few positions.
  (func (export "maxPoolBackwardToRows") (param $g i32) (param $winners i32) (param $y i32) (param $rows i32)
    (param $samples i32) (param $channels i32) (param $first i32) (param $count i32) (param $plane i32) (param $pooled i32) (param $rectify i32)
    (local $n i32) (local $j i32) (local $c i32) (local $o i32) (local $base i32) (local $at i32)
    (local $winner i32) (local $to i32) (local $v f32) (local $pooledBytes i32)
    (local.set $pooledBytes (i32.shl (local.get $pooled) (i32.const 2)))
    (loop $samplesLoop (if (i32.lt_u (local.get $n) (local.get $samples)) (then
      ;; zeroed a sample at a time, so that its rows are still in the caches when the terms are added
      (memory.fill (i32.add (local.get $rows) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $plane)) (local.get $count)) (i32.const 2)))
        (i32.const 0) (i32.shl (i32.mul (local.get $plane) (local.get $count)) (i32.const 2)))
      (local.set $j (i32.const 0))
      (loop $outputs (if (i32.lt_u (local.get $j) (local.get $pooled)) (then
        ;; byte offset of output j of channel first in g and winners; channel first's first input index; its value in the sample's first row
        (local.set $o (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $channels)) (local.get $first)) (local.get $pooled)) (local.get $j)) (i32.const 2)))
        (local.set $base (i32.mul (i32.add (i32.mul (local.get $n) (local.get $channels)) (local.get $first)) (local.get $plane)))
        (local.set $at (i32.add (local.get $rows) (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $plane)) (local.get $count)) (i32.const 2))))
        (local.set $c (i32.const 0))
        (loop $channelsLoop (if (i32.lt_u (local.get $c) (local.get $count)) (then
          (local.set $winner (i32.load (i32.add (local.get $winners) (local.get $o))))
          (if (i32.ge_s (local.get $winner) (i32.const 0)) (then
            (local.set $v (f32.load (i32.add (local.get $g) (local.get $o))))
            ;; A term the ReLU drops is added as +0, branch-free (the signs are random): a sum that
            ;; starts at +0 is never -0, so adding +0 leaves its bits as they are.
            (if (local.get $rectify) (then
              (local.set $v (select (local.get $v) (f32.const 0) (f32.gt (f32.load (i32.add (local.get $y) (local.get $o))) (f32.const 0))))))
            (local.set $to (i32.add (local.get $at) (i32.shl (i32.mul (i32.sub (local.get $winner) (local.get $base)) (local.get $count)) (i32.const 2))))
            (f32.store (local.get $to) (f32.add (f32.load (local.get $to)) (local.get $v)))))
          (local.set $o (i32.add (local.get $o) (local.get $pooledBytes)))
          (local.set $base (i32.add (local.get $base) (local.get $plane)))
          (local.set $at (i32.add (local.get $at) (i32.const 4)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $channelsLoop))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $outputs))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $samplesLoop)))))
  ;; The max pool's backward: $inputs zeros at $gradIn, then gradIn[winners[o]] += g[o] in float32,
  ;; o in order; a winner of -1 adds nothing.
  (func (export "maxPoolBackward") (param $g i32) (param $winners i32) (param $gradIn i32) (param $n i32) (param $inputs i32)
    (local $at i32) (local $end i32) (local $winner i32) (local $to i32)
    (memory.fill (local.get $gradIn) (i32.const 0) (i32.shl (local.get $inputs) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (loop $outputs (if (i32.lt_u (local.get $at) (local.get $end)) (then
      (local.set $winner (i32.load (i32.add (local.get $winners) (local.get $at))))
      (if (i32.ge_s (local.get $winner) (i32.const 0)) (then
        (local.set $to (i32.add (local.get $gradIn) (i32.shl (local.get $winner) (i32.const 2))))
        (f32.store (local.get $to) (f32.add (f32.load (local.get $to)) (f32.load (i32.add (local.get $g) (local.get $at)))))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br $outputs)))))
)
