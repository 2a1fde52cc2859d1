package org.diffusion4j.run;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.data.DataSource;
import org.diffusion4j.data.LabeledImages;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Bars;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LatentsTest {
    private static Latents.Info encodeBars(Path out, int n) throws IOException {
        AutoencoderKL ae = AutoencoderRunTest.SMALL.build(Rng.of(0));
        return Latents.encode(ae, out.resolveSibling("ae.safetensors"), "abc", Bars.images(n, 1), n, 7, out, k -> { });
    }

    @Test
    void encodesEveryImageWithItsLabelAndAScaleFactorThatWhitensTheDraws(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("bars-latents.safetensors");
        Latents.Info info = encodeBars(file, 50);
        assertThat(info.count()).isEqualTo(50);
        assertThat(info.shape()).containsExactly(2, 4, 4);
        assertThat(info.numClasses()).isEqualTo(2);
        assertThat(info.autoencoder()).isEqualTo(dir.resolve("ae.safetensors").toAbsolutePath());
        assertThat(info.autoencoderSha256()).isEqualTo("abc");
        assertThat(info.data()).isEqualTo("bars");
        Latents.Posteriors set = Latents.read(file);
        assertThat(set.labels()).startsWith(0, 1, 0, 1);
        // Batch sizes 7 and 50 encode alike: image i's posterior does not depend on its batch.
        Latents.encode(AutoencoderRunTest.SMALL.build(Rng.of(0)), dir.resolve("ae.safetensors"), "abc",
                Bars.images(50, 1), 50, 50, dir.resolve("one-batch.safetensors"), k -> { });
        float[] oneBatch = Latents.read(dir.resolve("one-batch.safetensors")).mean();
        for (int i = 0; i < oneBatch.length; i++) {
            assertThat((double) set.mean()[i]).isCloseTo(oneBatch[i], Offset.offset(1e-5));
        }
        try (PointerScope scope = new PointerScope()) {
            DataSource source = set.source(3);
            DataSource.Batch b = source.labeledBatch(0, 500, Rng.of(4));
            float[] z = Tensors.toFloats(b.x());
            double mean = 0;
            double sq = 0;
            for (float v : z) {
                mean += v / z.length;
                sq += (double) v * v / z.length;
            }
            double std = Math.sqrt(sq - mean * mean);
            assertThat(std).isCloseTo(1.0, Offset.offset(0.05));
            assertThat(source.numClasses()).isEqualTo(2);
            assertThat(source.sampleShape()).containsExactly(2, 4, 4);
            // The same step and generator replay the same batch (exact resume).
            assertThat(Tensors.toFloats(source.labeledBatch(0, 500, Rng.of(4)).x())).containsExactly(z);
        }
    }

    @Test
    void readingRefusesFilesThatAreNotWellFormedLatents(@TempDir Path dir) throws IOException {
        Path good = dir.resolve("good.safetensors");
        encodeBars(good, 4);
        Safetensors.Contents c = Safetensors.read(good);
        assertRefused(dir, c.tensors(), Map.of("format", "x"), "not a latents file");
        Map<String, String> meta = new LinkedHashMap<>(c.metadata());
        meta.put("scale_factor", "-1");
        assertRefused(dir, c.tensors(), meta, "scale_factor must be a positive number");
        meta = new LinkedHashMap<>(c.metadata());
        meta.remove("autoencoder_sha256");
        assertRefused(dir, c.tensors(), meta, "metadata 'autoencoder_sha256' is missing");
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> t = new LinkedHashMap<>(c.tensors());
            t.remove("std");
            assertRefused(dir, t, c.metadata(), "'mean' and 'std'");
            t = new LinkedHashMap<>(c.tensors());
            t.put("labels", Tensors.fromLongs(new long[] {0, 1, 2, 0}, 4));
            assertRefused(dir, t, c.metadata(), "label 2 of latent 2 is out of range");
            t = new LinkedHashMap<>(c.tensors());
            t.remove("labels");
            assertRefused(dir, t, c.metadata(), "num_classes 2 but no 'labels'");
            t = new LinkedHashMap<>(c.tensors());
            t.put("std", c.tensors().get("std").neg());
            assertRefused(dir, t, c.metadata(), "'std' holds");
        }
    }

    private static void assertRefused(Path dir, Map<String, Tensor> tensors, Map<String, String> meta, String message)
            throws IOException {
        Path bad = dir.resolve("bad.safetensors");
        Safetensors.write(bad, tensors, meta);
        assertThatThrownBy(() -> Latents.read(bad)).hasMessageContaining(bad.toString()).hasMessageContaining(message);
    }

    @Test
    void encodingChecksItsArguments(@TempDir Path dir) {
        AutoencoderKL ae = AutoencoderRunTest.SMALL.build(Rng.of(0));
        LabeledImages bars = Bars.images(4, 1);
        Path out = dir.resolve("l.safetensors");
        assertThatThrownBy(() -> Latents.encode(ae, out, "x", bars, 0, 1, out, k -> { })).hasMessageContaining("--limit");
        assertThatThrownBy(() -> Latents.encode(ae, out, "x", bars, 4, 0, out, k -> { }))
                .hasMessageContaining("--batch-size");
        LabeledImages big = new LabeledImages(new byte[2 * 16 * 16], null, 2, 1, 16, 16, 1, "big");
        assertThatThrownBy(() -> Latents.encode(ae, out, "x", big, 4, 1, out, k -> { }))
                .hasMessageContaining("big").hasMessageContaining("[1, 16, 16]");
        assertThat(out).doesNotExist();
    }
}
