package org.diffusion4j.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.tensor.Tensors;

/**
 * How a latent diffusion model gets back to images: its autoencoder and the latents' scale factor. The diffusion
 * checkpoint's sidecar records them under "autoencoder" (the path relative to the checkpoint, the weights' SHA-256 and
 * the scale factor), so sampling finds the decoder, and refuses one that was retrained or replaced since.
 *
 * @param imageData the image dataset the autoencoder was trained on (e.g. "mnist")
 */
public record LatentSpace(AutoencoderKL autoencoder, double scaleFactor, Path file, String imageData) {
    /**
     * The sidecar entry for a model trained on {@code latents}, saved as {@code checkpoint}.
     */
    static JsonNode reference(Path checkpoint, Latents.Info latents) {
        ObjectNode ref = Json.MAPPER.createObjectNode();
        Path dir = checkpoint.toAbsolutePath().normalize().getParent();
        Path ae = latents.autoencoder().toAbsolutePath().normalize();
        ref.put("weights_file", dir.getRoot().equals(ae.getRoot()) ? dir.relativize(ae).toString() : ae.toString());
        ref.put("weights_sha256", latents.autoencoderSha256());
        ref.put("scale_factor", latents.scaleFactor());
        return ref;
    }

    /**
     * Loads the autoencoder a diffusion checkpoint refers to.
     *
     * @throws IOException if it is missing or its SHA-256 differs from the recorded one (the message names both files)
     */
    static LatentSpace resolve(Path checkpoint, JsonNode ref) throws IOException {
        String source = Checkpoint.sidecarOf(checkpoint).toString();
        JsonNode file = ref.get("weights_file");
        JsonNode sha = ref.get("weights_sha256");
        JsonNode scale = ref.get("scale_factor");
        if (ref.size() != 3 || file == null || !file.isTextual() || sha == null || !sha.isTextual() || scale == null
                || !scale.isNumber() || !(scale.doubleValue() > 0)) {
            throw new IOException(source + ": 'autoencoder' must hold exactly weights_file (string), weights_sha256 "
                    + "(string) and scale_factor (positive number), got " + ref);
        }
        Path ae = checkpoint.toAbsolutePath().normalize().getParent().resolve(file.textValue()).normalize();
        if (!Files.isRegularFile(ae)) {
            throw new NoSuchFileException(ae.toString(), null, "the autoencoder of latent diffusion model "
                    + checkpoint + " is missing");
        }
        AutoencoderRun.Loaded loaded = AutoencoderRun.load(ae);
        if (!loaded.sha256().equals(sha.textValue())) {
            throw new IOException(ae + ": SHA-256 " + loaded.sha256() + " differs from " + sha.textValue()
                    + " recorded in " + source + ": the model was trained on latents of another autoencoder");
        }
        return new LatentSpace(loaded.model(), scale.doubleValue(), ae, loaded.data());
    }

    /** [C, H, W] of a decoded image. */
    public long[] imageShape() {
        return autoencoder.config().imageShape();
    }

    /**
     * Decodes scaled latents z (the diffusion model's space) to images: D(z / scale_factor), clamped to [-1, 1].
     *
     * @param latents   [N, c, h, w]
     * @param batchSize latents per decoder pass
     * @return float32 [N, C, H, W]
     */
    public Tensor decode(Tensor latents, int batchSize) {
        long n = latents.size(0);
        long[] img = imageShape();
        Tensor out = torch.empty(new long[] {n, img[0], img[1], img[2]}, new TensorOptions(torch.ScalarType.Float),
                new MemoryFormatOptional());
        for (long start = 0; start < n; start += batchSize) {
            long b = Math.min(batchSize, n - start);
            try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
                Tensor x = autoencoder.decode(latents.narrow(0, start, b).div(Tensors.scalar(scaleFactor)));
                out.narrow(0, start, b).copy_(torch.clamp(x, new ScalarOptional(Tensors.scalar(-1)),
                        new ScalarOptional(Tensors.scalar(1))));
            }
        }
        return out;
    }

    /**
     * Encodes images to the diffusion model's latents: the posterior mean times the scale factor.
     *
     * @param images [N, C, H, W] in [-1, 1]
     * @return float32 [N, c, h, w]
     */
    public Tensor encode(Tensor images) {
        try (NoGradGuard guard = new NoGradGuard()) {
            return autoencoder.encode(images).mean().mul(Tensors.scalar(scaleFactor));
        }
    }

    /** A mask over images [N, 1, H, W] at the latents' resolution: every f-th pixel, f the autoencoder's factor. */
    public Tensor downsample(Tensor mask) {
        long f = autoencoder.config().factor();
        return mask.slice(2, new LongOptional(0), new LongOptional(mask.size(2)), f)
                .slice(3, new LongOptional(0), new LongOptional(mask.size(3)), f).contiguous();
    }
}
