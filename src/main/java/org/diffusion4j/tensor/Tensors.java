package org.diffusion4j.tensor;

import java.util.Arrays;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Copies between Java arrays and tensors, and small scalar helpers. Each copy is one memcpy. */
public final class Tensors {
    private Tensors() {}

    /** A float32 tensor of {@code shape} holding a copy of {@code data} (row-major). */
    public static Tensor fromFloats(float[] data, long... shape) {
        checkCount(data.length, shape);
        try (FloatPointer p = new FloatPointer(data)) {
            return copyOf(p, torch.ScalarType.Float, 4L * data.length, shape);
        }
    }

    /** A float64 tensor of {@code shape} holding a copy of {@code data} (row-major). */
    public static Tensor fromDoubles(double[] data, long... shape) {
        checkCount(data.length, shape);
        try (DoublePointer p = new DoublePointer(data)) {
            return copyOf(p, torch.ScalarType.Double, 8L * data.length, shape);
        }
    }

    /** An int64 tensor of {@code shape} holding a copy of {@code data} (row-major), e.g. class labels. */
    public static Tensor fromLongs(long[] data, long... shape) {
        checkCount(data.length, shape);
        try (LongPointer p = new LongPointer(data)) {
            return copyOf(p, torch.ScalarType.Long, 8L * data.length, shape);
        }
    }

    /** A new tensor of {@code type} and {@code shape} holding the {@code bytes} at {@code source}. */
    private static Tensor copyOf(Pointer source, torch.ScalarType type, long bytes, long[] shape) {
        Tensor t = torch.empty(shape, new TensorOptions(type), new MemoryFormatOptional());
        Pointer.memcpy(t.data_ptr(), source, bytes);
        return t;
    }

    /** The values of any real tensor as floats (converted, made contiguous and brought to the CPU first). */
    public static float[] toFloats(Tensor t) {
        Tensor c = t.detach().to(torch.ScalarType.Float).contiguous().cpu();
        float[] out = new float[Math.toIntExact(c.numel())];
        c.data_ptr_float().get(out);
        return out;
    }

    /** The values of any real tensor as doubles (converted, made contiguous and brought to the CPU first). */
    public static double[] toDoubles(Tensor t) {
        Tensor c = t.detach().to(torch.ScalarType.Double).contiguous().cpu();
        double[] out = new double[Math.toIntExact(c.numel())];
        c.data_ptr_double().get(out);
        return out;
    }

    /** A libtorch scalar. */
    /**
     * Rows [first, first + b) of {@code t} [n, ...], or its only row repeated b times when n = 1: per-batch slices of
     * inputs given once for all samples or once per sample.
     */
    public static Tensor rows(Tensor t, int first, int b) {
        if (t.size(0) == 1) {
            long[] shape = t.sizes().vec().get();
            shape[0] = b;
            return t.expand(shape).contiguous();
        }
        return t.narrow(0, first, b);
    }

    /** An inpainting mask made binary as diffusers makes it: 1 (repaint) from 0.5 up, else 0; float32. */
    public static Tensor binaryMask(Tensor mask) {
        return mask.ge(scalar(0.5)).to(org.bytedeco.pytorch.global.torch.ScalarType.Float);
    }

    public static Scalar scalar(double v) {
        return new Scalar(v);
    }

    /** True when every element is finite. */
    public static boolean allFinite(Tensor t) {
        return torch.isfinite(t).all().item_bool();
    }

    private static void checkCount(int length, long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, s);
        }
        if (n != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n
                    + " values but got " + length);
        }
    }
}
