package org.diffusion4j.checkpoint;

import org.bytedeco.pytorch.global.torch;

/** The safetensors dtypes libtorch can hold, with their byte sizes. */
public enum DType {
    BOOL(1, torch.ScalarType.Bool),
    U8(1, torch.ScalarType.Byte),
    I8(1, torch.ScalarType.Char),
    I16(2, torch.ScalarType.Short),
    I32(4, torch.ScalarType.Int),
    I64(8, torch.ScalarType.Long),
    F16(2, torch.ScalarType.Half),
    BF16(2, torch.ScalarType.BFloat16),
    F32(4, torch.ScalarType.Float),
    F64(8, torch.ScalarType.Double);

    private final int size;
    private final torch.ScalarType scalarType;

    DType(int size, torch.ScalarType scalarType) {
        this.size = size;
        this.scalarType = scalarType;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    public torch.ScalarType scalarType() {
        return scalarType;
    }

    /** The safetensors dtype of a libtorch scalar type. */
    public static DType of(torch.ScalarType type) {
        // Compare by value: JavaCPP returns fresh enum instances from native calls, so == fails.
        for (DType d : values()) {
            if (d.scalarType.value == type.value) {
                return d;
            }
        }
        throw new IllegalArgumentException("safetensors cannot store tensors of type " + type);
    }

    /** The dtype for a header name, or null when unknown. */
    static DType byName(String name) {
        for (DType d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        return null;
    }
}
