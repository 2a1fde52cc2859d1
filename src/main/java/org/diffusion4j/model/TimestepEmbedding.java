package org.diffusion4j.model;

import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.DeviceSpec;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;

/**
 * The sinusoidal timestep embedding of "Attention Is All You Need", in diffusers' exact form
 * ({@code get_timestep_embedding}): frequencies exp(-ln(maxPeriod) k / (half - freqShift)), computed in float32.
 */
public final class TimestepEmbedding {
    private TimestepEmbedding() {}

    /**
     * @param t            timesteps [B] (any real dtype; converted to float32 as diffusers does)
     * @param dim          embedding width
     * @param flipSinToCos put cos before sin
     * @param freqShift    diffusers' {@code downscale_freq_shift}
     * @return float32 [B, dim]
     */
    public static Tensor sinusoidal(Tensor t, int dim, boolean flipSinToCos, double freqShift) {
        Shapes.requireRankAtLeast(t, "t", 1);
        if (t.dim() != 1) {
            throw new IllegalArgumentException("t: expected shape [B] but got " + Shapes.str(t));
        }
        if (dim < 2) {
            throw new IllegalArgumentException("embedding dim must be >= 2, got " + dim);
        }
        int half = dim / 2;
        if (half - freqShift == 0) {
            throw new IllegalArgumentException("embedding dim " + dim + " with freq shift " + freqShift
                    + " divides by zero");
        }
        TensorOptions f32 = DeviceSpec.optionsLike(t, torch.ScalarType.Float);
        Tensor exponent = torch.arange(Tensors.scalar(0), Tensors.scalar(half), f32)
                .mul(Tensors.scalar(-Math.log(10000.0)))
                .div(Tensors.scalar(half - freqShift));
        Tensor freqs = exponent.exp();
        Tensor args = t.to(torch.ScalarType.Float).unsqueeze(1).mul(freqs.unsqueeze(0));
        Tensor sin = args.sin();
        Tensor cos = args.cos();
        Tensor emb = flipSinToCos ? torch.cat(new TensorVector(cos, sin), 1) : torch.cat(new TensorVector(sin, cos), 1);
        if (dim % 2 == 1) {
            emb = torch.cat(new TensorVector(emb, torch.zeros(new long[] {t.size(0), 1}, f32)), 1);
        }
        return emb;
    }
}
