package org.diffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir
    Path dir;

    private Checkpoint.Sidecar sidecar() {
        ObjectNode cfg = Json.MAPPER.createObjectNode().put("width", 3);
        return new Checkpoint.Sidecar("mlp", cfg, Json.MAPPER.createObjectNode(), Json.MAPPER.createObjectNode(),
                "swiss-roll", 12, 7, 12, 12);
    }

    private Path saved() throws IOException {
        Torch.init();
        Path f = dir.resolve("model.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.save(f, sidecar(), Map.of("model.w", torch.ones(3)));
        }
        return f;
    }

    @Test
    void savesTensorsAndSidecarAndLoadsThemBack() throws IOException {
        Path f = saved();
        assertThat(Checkpoint.sidecarOf(f)).isEqualTo(dir.resolve("model.json"));
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.Loaded l = Checkpoint.load(f);
            assertThat(l.sidecar()).isEqualTo(sidecar());
            assertThat(Tensors.toFloats(l.tensors().get("model.w"))).containsExactly(1f, 1f, 1f);
        }
        String json = Files.readString(Checkpoint.sidecarOf(f));
        assertThat(json).contains("\"format_version\" : 1", "\"weights_sha256\"", "\"seed\" : 7", "\"step\" : 12");
    }

    /** Autoencoders have no schedule; latent diffusion models carry an autoencoder reference. Both round-trip. */
    @Test
    void theScheduleIsOptionalAndTheAutoencoderReferenceRoundTrips() throws IOException {
        Torch.init();
        ObjectNode ref = Json.MAPPER.createObjectNode().put("weights_file", "ae.safetensors").put("scale_factor", 0.3);
        Checkpoint.Sidecar latent = new Checkpoint.Sidecar("unet", Json.MAPPER.createObjectNode(),
                Json.MAPPER.createObjectNode(), Json.MAPPER.createObjectNode(), "latents:/x", 1, 0, 1, 1, ref);
        Checkpoint.Sidecar ae = new Checkpoint.Sidecar("autoencoder_kl", Json.MAPPER.createObjectNode(), null,
                Json.MAPPER.createObjectNode(), "mnist", 1, 0, 1, 0);
        for (Checkpoint.Sidecar side : new Checkpoint.Sidecar[] {latent, ae}) {
            Path f = dir.resolve(side.modelType() + ".safetensors");
            try (PointerScope scope = new PointerScope()) {
                Checkpoint.save(f, side, Map.of("model.w", torch.ones(1)));
            }
            assertThat(Checkpoint.readSidecar(f)).isEqualTo(side);
        }
        assertThat(Files.readString(dir.resolve("autoencoder_kl.json"))).doesNotContain("schedule");
        Path f = dir.resolve("unet.safetensors");
        ObjectNode json = (ObjectNode) Json.MAPPER.readTree(Checkpoint.sidecarOf(f).toFile());
        Files.write(Checkpoint.sidecarOf(f), Json.MAPPER.writeValueAsBytes(json.put("autoencoder", 3)));
        assertThatThrownBy(() -> Checkpoint.readSidecar(f)).hasMessageContaining("field 'autoencoder' must be an object");
    }

    @Test
    void detectsCorruptWeightsThroughTheHash() throws IOException {
        Path f = saved();
        byte[] b = Files.readAllBytes(f);
        b[b.length - 1] ^= 1;
        Files.write(f, b);
        assertThatThrownBy(() -> Checkpoint.load(f)).hasMessageContaining(f.toString())
                .hasMessageContaining("does not match");
    }

    @Test
    void refusesMissingFilesUnknownFieldsAndOtherVersions() throws IOException {
        Path f = saved();
        Path side = Checkpoint.sidecarOf(f);
        String json = Files.readString(side);
        Files.writeString(side, json.replace("\"format_version\" : 1", "\"format_version\" : 99"));
        assertThatThrownBy(() -> Checkpoint.load(f)).hasMessageContaining("format_version 99");
        Files.writeString(side, json.replaceFirst("\\{", "{\"surprise\": 1,"));
        assertThatThrownBy(() -> Checkpoint.load(f)).hasMessageContaining("unknown field 'surprise'");
        Files.writeString(side, json.replace("\"step\" : 12", "\"step\" : 12, \"step\" : 13"));
        assertThatThrownBy(() -> Checkpoint.load(f)).hasMessageContaining(side.toString());
        Files.delete(side);
        assertThatThrownBy(() -> Checkpoint.load(f)).isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("model.json");
        assertThatThrownBy(() -> Checkpoint.load(dir.resolve("absent.safetensors")))
                .isInstanceOf(NoSuchFileException.class).hasMessageContaining("absent.safetensors");
    }

    @Test
    void refusesPickleAndOtherNames() {
        assertThatThrownBy(() -> Checkpoint.load(dir.resolve("model.ckpt"))).hasMessageContaining("pickle")
                .hasMessageContaining("safetensors.torch.save_file");
        assertThatThrownBy(() -> Checkpoint.load(dir.resolve("model.pt"))).hasMessageContaining("pickle");
        assertThatThrownBy(() -> Checkpoint.load(dir.resolve("model.bin.txt")))
                .hasMessageContaining("must end in .safetensors");
    }
}
