package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.testing.Recorded;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiffusersVaeTest {
    @TempDir
    Path dir;

    /** Encode (mean, log-variance, a draw), decode and round trip, with and without quant convs. */
    @Test
    void everyRecordedCaseMatchesDiffusersWithinTheTolerance() throws Exception {
        Recorded.requireSdCasesPass("vae_.*\\.json", 1, 1e-5);
    }

    @Test
    void readsAPipelinesVaeConfigAndRefusesWhatItDoesNotImplement() throws Exception {
        DiffusersVae v = DiffusersVae.load(Shared.sd().resolve("sdpipe_a").resolve("vae"));
        assertThat(v.scalingFactor()).isEqualTo(0.18215);
        assertThat(v.vae().config()).isEqualTo(new AutoencoderConfig(16, 3, List.of(16, 32), 4, 8, 1, 8, true));
        assertThatThrownBy(() -> DiffusersVae.config(Json.MAPPER.readTree("{\"shift_factor\": 0.1}")))
                .hasMessageContaining("shift_factor = 0.1 is not supported");
        assertThatThrownBy(() -> DiffusersVae.config(Json.MAPPER.readTree("{\"use_quant_conv\": false}")))
                .hasMessageContaining("use_quant_conv and use_post_quant_conv must be equal");
        assertThatThrownBy(() -> DiffusersVae.config(Json.MAPPER.readTree("{\"magic\": 1}")))
                .hasMessageContaining("unknown AutoencoderKL config key 'magic'");
        assertThatThrownBy(() -> DiffusersVae.config(Json.MAPPER.readTree("{\"out_channels\": 4}")))
                .hasMessageContaining("out_channels must equal in_channels 3");
        assertThatThrownBy(() -> DiffusersVae.load(dir)).hasMessageContaining("config.json")
                .hasMessageContaining("missing");
        Files.writeString(dir.resolve("config.json"), "{\"down_block_types\": [\"DownBlock2D\"]}");
        Files.writeString(dir.resolve("diffusion_pytorch_model.safetensors"), "x");
        assertThatThrownBy(() -> DiffusersVae.load(dir)).hasMessageContaining("config.json")
                .hasMessageContaining("'DownBlock2D' is not supported");
    }
}
