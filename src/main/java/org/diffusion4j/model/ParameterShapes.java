package org.diffusion4j.model;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.diffusion4j.tensor.Memory;

/**
 * The parameters a config builds, by dotted name and shape, known before anything is allocated: what lets a loader
 * compare a checkpoint's header with its config, and estimate memory, without building a network the size a
 * (possibly hostile) config asks for. Each module contributes its own entries next to its constructor; the configs'
 * tests check the result against the built network.
 */
public final class ParameterShapes {
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    /** Adds one parameter. */
    public ParameterShapes add(String name, long... shape) {
        for (long s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException(name + ": dimension " + s + " in " + Arrays.toString(shape));
            }
        }
        if (shapes.put(name, shape.clone()) != null) {
            throw new IllegalStateException("parameter '" + name + "' added twice");
        }
        return this;
    }

    /** nn.Linear: weight [out, in] and bias [out]. */
    public ParameterShapes linear(String name, long in, long out) {
        return add(name + ".weight", out, in).add(name + ".bias", out);
    }

    /** nn.Conv2d with a square kernel: weight [out, in, k, k] and bias [out]. */
    public ParameterShapes conv(String name, long in, long out, long kernel) {
        return add(name + ".weight", out, in, kernel, kernel).add(name + ".bias", out);
    }

    /** nn.GroupNorm (affine): weight and bias [channels]. */
    public ParameterShapes groupNorm(String name, long channels) {
        return add(name + ".weight", channels).add(name + ".bias", channels);
    }

    /** The shapes by name, in the order added. */
    public Map<String, long[]> asMap() {
        return Collections.unmodifiableMap(shapes);
    }

    /** Scalars in all, saturating at Long.MAX_VALUE (a hostile config may ask for more than a long counts). */
    public long count() {
        long n = 0;
        for (long[] s : shapes.values()) {
            n = saturatingAdd(n, numel(s));
        }
        return n;
    }

    /** Bytes as float32, saturating. */
    public long bytes() {
        long n = count();
        return n > Long.MAX_VALUE / Float.BYTES ? Long.MAX_VALUE : n * Float.BYTES;
    }

    /** Product of a shape, saturating at Long.MAX_VALUE. */
    public static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s != 0 && n > Long.MAX_VALUE / s) {
                return Long.MAX_VALUE;
            }
            n *= s;
        }
        return n;
    }

    /** a + b for non-negative sizes, saturating at Long.MAX_VALUE. */
    public static long saturatingAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }

    /**
     * Checks the tensors a file declares under {@code prefix} (e.g. {@code "model."}) against these: every parameter
     * present with its exact shape, and nothing else under the prefix.
     *
     * @param declared tensor shapes by full name, as a safetensors header lists them
     * @param source   names the file in messages
     * @throws IllegalArgumentException naming the first missing, unexpected or mis-shaped tensor
     */
    public void requireMatch(Map<String, long[]> declared, String prefix, String source) {
        for (Map.Entry<String, long[]> e : declared.entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(prefix)) {
                continue;
            }
            long[] want = shapes.get(name.substring(prefix.length()));
            if (want == null) {
                throw new IllegalArgumentException(source + ": unexpected tensor '" + name
                        + "' (the model its config describes has no such parameter)");
            }
            if (!Arrays.equals(want, e.getValue())) {
                throw new IllegalArgumentException(source + ": tensor '" + name + "' has shape "
                        + Arrays.toString(e.getValue()) + " but the config builds " + Arrays.toString(want)
                        + " (config and weights do not belong together)");
            }
        }
        for (String name : shapes.keySet()) {
            if (!declared.containsKey(prefix + name)) {
                throw new IllegalArgumentException(source + ": missing tensor '" + prefix + name + "' (shape "
                        + Arrays.toString(shapes.get(name)) + ")");
            }
        }
    }

    /**
     * Refuses loading {@code fileBytes} of tensor data into a network with these parameters when both together do
     * not fit in the memory available.
     */
    public void requireLoadable(long fileBytes, String file) {
        Memory.require(saturatingAdd(fileBytes, bytes()), "loading " + file, null);
    }
}
