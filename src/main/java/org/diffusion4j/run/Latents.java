package org.diffusion4j.run;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.DType;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;

/**
 * A data set encoded by an autoencoder: a safetensors file with the posterior of every image ({@code mean} and
 * {@code std}, float32 [N, c, h, w]), its labels ({@code labels}, int64 [N], when the images have them), and metadata
 * naming the autoencoder (path and SHA-256), the source images and the scale factor.
 *
 * <p>Training batches are fresh posterior draws z = (mean + std * eps) * scale_factor, as diffusers' latent training
 * scripts draw {@code latent_dist.sample() * scaling_factor} each step.
 */
public final class Latents {
    public static final String FORMAT = "diffusion4j-latents";

    private Latents() {}

    /**
     * A latents file's header.
     *
     * @param shape             one latent, [c, h, w]
     * @param numClasses        label values (0 without labels)
     * @param scaleFactor       1 / std of the latents over the whole set (LDM's scale factor)
     * @param autoencoder       the autoencoder checkpoint, absolute
     * @param autoencoderSha256 its weights' SHA-256 when the latents were made
     * @param data              the images encoded, e.g. "mnist/train"
     */
    public record Info(Path file, long[] shape, int count, int numClasses, double scaleFactor, Path autoencoder,
                       String autoencoderSha256, String data) {}

    /** Reads and checks only the header. */
    public static Info info(Path file) throws IOException {
        Safetensors.Header h = Safetensors.readHeader(file);
        Map<String, String> meta = h.metadata();
        if (!FORMAT.equals(meta.get("format"))) {
            throw new IOException(file + ": not a latents file (metadata format is '" + meta.get("format")
                    + "', expected '" + FORMAT + "'; make one with the encode command)");
        }
        Map<String, Safetensors.TensorInfo> byName = new LinkedHashMap<>();
        h.tensors().forEach(t -> byName.put(t.name(), t));
        Safetensors.TensorInfo mean = byName.get("mean");
        Safetensors.TensorInfo std = byName.get("std");
        if (mean == null || std == null || mean.dtype() != DType.F32 || std.dtype() != DType.F32
                || mean.shape().length != 4 || !Arrays.equals(mean.shape(), std.shape())) {
            throw new IOException(file + ": needs float32 tensors 'mean' and 'std' of one shape [N, c, h, w], found "
                    + h.tensors());
        }
        int count = Math.toIntExact(mean.shape()[0]);
        Safetensors.TensorInfo labels = byName.get("labels");
        int classes = intField(file, meta, "num_classes");
        if (labels != null && (labels.dtype() != DType.I64 || labels.shape().length != 1 || labels.shape()[0] != count)) {
            throw new IOException(file + ": 'labels' must be int64 [" + count + "], found " + labels);
        }
        if ((labels == null) != (classes == 0)) {
            throw new IOException(file + ": num_classes " + classes + " but " + (labels == null ? "no" : "a")
                    + " 'labels' tensor");
        }
        if (byName.size() != (labels == null ? 2 : 3)) {
            throw new IOException(file + ": unexpected tensors besides mean, std and labels: " + byName.keySet());
        }
        double scale;
        try {
            scale = Double.parseDouble(field(file, meta, "scale_factor"));
        } catch (NumberFormatException e) {
            throw new IOException(file + ": scale_factor '" + meta.get("scale_factor") + "' is not a number");
        }
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IOException(file + ": scale_factor must be a positive number, got " + scale);
        }
        long[] shape = Arrays.copyOfRange(mean.shape(), 1, 4);
        return new Info(file, shape, count, classes, scale, Path.of(field(file, meta, "autoencoder")),
                field(file, meta, "autoencoder_sha256"), field(file, meta, "data"));
    }

    private static String field(Path file, Map<String, String> meta, String key) throws IOException {
        String v = meta.get(key);
        if (v == null) {
            throw new IOException(file + ": metadata '" + key + "' is missing");
        }
        return v;
    }

    private static int intField(Path file, Map<String, String> meta, String key) throws IOException {
        try {
            int v = Integer.parseInt(field(file, meta, key));
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IOException(file + ": metadata '" + key + "' must be a non-negative integer, got '"
                    + meta.get(key) + "'");
        }
    }

    /** A loaded latents file: per-image posterior means and stds. Arrays are row-major [N, c, h, w] (mean, std) and [N] (labels, or null). */
    public record Posteriors(Info info, float[] mean, float[] std, long[] labels) {
        /** Training batches of scaled posterior draws, walking seeded per-epoch shuffles. */
        public DataSource source(long seed) {
            int size = Math.toIntExact(info.shape()[0] * info.shape()[1] * info.shape()[2]);
            float scale = (float) info.scaleFactor();
            return new DataSource() {
                @Override
                public Tensor batch(long step, int batchSize, Rng rng) {
                    return labeledBatch(step, batchSize, rng).x();
                }

                @Override
                public Batch labeledBatch(long step, int batchSize, Rng rng) {
                    float[] m = new float[batchSize * size];
                    float[] s = new float[batchSize * size];
                    long[] l = labels == null ? null : new long[batchSize];
                    for (int b = 0; b < batchSize; b++) {
                        int idx = LabeledImages.shuffledIndex(seed, step * batchSize + b, info.count());
                        System.arraycopy(mean, idx * size, m, b * size, size);
                        System.arraycopy(std, idx * size, s, b * size, size);
                        if (l != null) {
                            l[b] = labels[idx];
                        }
                    }
                    long[] shape = {batchSize, info.shape()[0], info.shape()[1], info.shape()[2]};
                    Tensor eps = rng.randn(shape);
                    Tensor z = Tensors.fromFloats(m, shape).add(Tensors.fromFloats(s, shape).mul(eps))
                            .mul(Tensors.scalar(scale));
                    return new Batch(z, l == null ? null : Tensors.fromLongs(l, batchSize));
                }

                @Override
                public int numClasses() {
                    return info.numClasses();
                }

                @Override
                public long[] sampleShape() {
                    return info.shape().clone();
                }

                @Override
                public String id() {
                    return Datasets.LATENTS + info.file();
                }
            };
        }
    }

    /** Loads and checks a latents file. */
    public static Posteriors read(Path file) throws IOException {
        Info info = info(file);
        Safetensors.Contents c = Safetensors.read(file);
        float[] mean = Tensors.toFloats(c.tensors().get("mean"));
        float[] std = Tensors.toFloats(c.tensors().get("std"));
        long[] labels = null;
        if (info.numClasses() > 0) {
            Tensor t = c.tensors().get("labels").contiguous();
            labels = new long[info.count()];
            t.data_ptr_long().get(labels);
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] < 0 || labels[i] >= info.numClasses()) {
                    throw new IOException(file + ": label " + labels[i] + " of latent " + i + " is out of range [0, "
                            + info.numClasses() + ")");
                }
            }
        }
        for (float v : std) {
            if (!(v >= 0) || Float.isInfinite(v)) {
                throw new IOException(file + ": 'std' holds " + v + "; standard deviations must be finite and >= 0");
            }
        }
        for (float v : mean) {
            if (!Float.isFinite(v)) {
                throw new IOException(file + ": 'mean' holds a non-finite value");
            }
        }
        return new Posteriors(info, mean, std, labels);
    }

    /** Called after each encoded batch with the number of images done. */
    @FunctionalInterface
    public interface Progress {
        void done(int images);
    }

    /**
     * Encodes {@code images} (the first {@code limit}) and writes the latents file atomically. The scale factor is
     * 1 / std of the posterior's draws pooled over every element of every image, computed in closed form:
     * Var z = E[mean^2 + std^2] - (E mean)^2.
     *
     * @param autoencoder the autoencoder checkpoint the latents are recorded as coming from
     */
    public static Info encode(AutoencoderKL model, Path autoencoder, String autoencoderSha256, LabeledImages images,
                              int limit, int batchSize, Path out, Progress progress) throws IOException {
        if (limit < 1) {
            throw new IllegalArgumentException("--limit must be >= 1, got " + limit);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        long[] want = model.config().imageShape();
        long[] have = {images.channels(), images.height(), images.width()};
        if (!Arrays.equals(want, have)) {
            throw new IllegalArgumentException(images.id() + ": images of shape " + Arrays.toString(have)
                    + " do not fit the autoencoder, which takes " + Arrays.toString(want));
        }
        int n = Math.min(limit, images.count());
        long[] ls = model.config().latentShape();
        int size = Math.toIntExact(ls[0] * ls[1] * ls[2]);
        float[] mean = new float[n * size];
        float[] std = new float[n * size];
        double sum = 0;
        double sumSq = 0;
        model.train(false);
        for (int start = 0; start < n; start += batchSize) {
            int b = Math.min(batchSize, n - start);
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                Tensor x = images.slice(start, b);
                AutoencoderKL.Posterior q = model.encode(x);
                float[] m = Tensors.toFloats(q.mean());
                float[] s = Tensors.toFloats(q.std());
                System.arraycopy(m, 0, mean, start * size, m.length);
                System.arraycopy(s, 0, std, start * size, s.length);
                for (int i = 0; i < m.length; i++) {
                    sum += m[i];
                    sumSq += (double) m[i] * m[i] + (double) s[i] * s[i];
                }
            }
            progress.done(start + b);
        }
        long elements = (long) n * size;
        double var = sumSq / elements - (sum / elements) * (sum / elements);
        if (!(var > 0)) {
            throw new IllegalStateException("the encoded latents have zero variance; the autoencoder is degenerate");
        }
        double scale = 1 / Math.sqrt(var);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        long[] shape = {n, ls[0], ls[1], ls[2]};
        try (PointerScope scope = new PointerScope()) {
            tensors.put("mean", Tensors.fromFloats(mean, shape));
            tensors.put("std", Tensors.fromFloats(std, shape));
            if (images.labels() != null) {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = images.labels()[i] & 0xff;
                }
                tensors.put("labels", Tensors.fromLongs(l, n));
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", FORMAT);
            meta.put("format_version", "1");
            meta.put("scale_factor", String.format(Locale.ROOT, "%.9g", scale));
            meta.put("num_classes", Integer.toString(images.labels() == null ? 0 : images.numClasses()));
            meta.put("autoencoder", autoencoder.toAbsolutePath().normalize().toString());
            meta.put("autoencoder_sha256", autoencoderSha256);
            meta.put("data", images.id());
            Safetensors.write(out, tensors, meta);
        }
        return info(out);
    }
}
