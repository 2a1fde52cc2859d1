package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.unet.DiffusersConfig;
import org.diffusion4j.model.unet.UNetConfig;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Shared;
import org.diffusion4j.testing.SparseSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiffusersModelTest {
    @TempDir
    Path dir;

    private static final Path CASE = Shared.diffusers().resolve("unet_a_uncond");

    /** Max |ours - output_float32| of the recorded case, for a model loaded from {@code folder}. */
    private static double errorAgainstRecording(Path folder) throws IOException {
        JsonNode c = Shared.read(Shared.diffusers().resolve("unet_a_uncond.json"));
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            DiffusersModel m = DiffusersModel.load(folder);
            Tensor x = Tensors.fromDoubles(Shared.doubles(c.get("input_sample")), Shared.longs(c.get("input_shape")))
                    .to(torch.ScalarType.Float);
            double[] ts = Shared.doubles(c.get("timesteps"));
            Tensor out = m.network().forward(x, Tensors.fromDoubles(ts, ts.length).to(torch.ScalarType.Float));
            return Shared.maxRelError(Tensors.toDoubles(out), Shared.doubles(c.get("output_float32")));
        }
    }

    @Test
    void loadsSavePretrainedFoldersWithDiffusersDefaults() throws IOException {
        assertThat(errorAgainstRecording(CASE.resolve("save_pretrained"))).isLessThan(1e-4);
        try (PointerScope scope = new PointerScope()) {
            DiffusersModel m = DiffusersModel.load(CASE.resolve("save_pretrained"));
            assertThat(m.scheduler()).isNull();
            assertThat(m.denoiser().parameterization()).isEqualTo(Parameterization.EPS);
            assertThat(m.schedule().size()).isEqualTo(1000);
            assertThat(m.sampleShape()).containsExactly(3, 8, 8);
        }
    }

    /** A pipeline folder (unet/ + scheduler/) as the Hub's DDPM models, with the old attention names of 2022. */
    @Test
    void loadsPipelineFoldersWithOldAttentionNamesAndOldSchedulerKeys() throws IOException {
        Path unet = Files.createDirectories(dir.resolve("unet"));
        Files.copy(CASE.resolve("config.json"), unet.resolve("config.json"));
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            Safetensors.read(CASE.resolve("unet.safetensors")).tensors().forEach((k, v) -> renamed.put(k
                    .replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.")
                    .replace(".to_out.0.", ".proj_attn."), v));
            assertThat(renamed.keySet()).anyMatch(k -> k.contains(".proj_attn."));
            Safetensors.write(unet.resolve("diffusion_pytorch_model.safetensors"), renamed, Map.of("format", "pt"));
        }
        Path sched = Files.createDirectories(dir.resolve("scheduler"));
        Files.writeString(sched.resolve("scheduler_config.json"), "{\"_class_name\": \"DDPMScheduler\", "
                + "\"beta_schedule\": \"squaredcos_cap_v2\", \"num_train_timesteps\": 500, \"tensor_format\": \"pt\", "
                + "\"predict_epsilon\": false}");
        assertThat(errorAgainstRecording(dir)).isLessThan(1e-4);
        try (PointerScope scope = new PointerScope()) {
            DiffusersModel m = DiffusersModel.load(dir);
            assertThat(m.denoiser().parameterization()).isEqualTo(Parameterization.X0);
            assertThat(m.schedule().size()).isEqualTo(500);
            assertThat(m.schedule().config().betaSchedule().id()).isEqualTo("squaredcos_cap_v2");
        }
        Files.writeString(sched.resolve("scheduler_config.json"), "{\"_class_name\": \"DDPMScheduler\", "
                + "\"prediction_type\": \"v_prediction\", \"magic\": 1}");
        assertThatThrownBy(() -> DiffusersModel.load(dir)).hasMessageContaining("scheduler_config.json")
                .hasMessageContaining("unknown config key 'magic'");
        Files.writeString(sched.resolve("scheduler_config.json"), "{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\"}");
        assertThatThrownBy(() -> DiffusersModel.load(dir)).hasMessageContaining("no DDPM training schedule");
    }

    @Test
    void refusesPicklesAndNamesMissingFiles() throws IOException {
        assertThatThrownBy(() -> DiffusersModel.load(dir.resolve("nope"))).hasMessageContaining("nope: not a folder");
        assertThatThrownBy(() -> DiffusersModel.load(dir)).hasMessageContaining("no config.json");
        Files.copy(CASE.resolve("config.json"), dir.resolve("config.json"));
        assertThatThrownBy(() -> DiffusersModel.load(dir))
                .hasMessageContaining("diffusion_pytorch_model.safetensors is missing");
        Files.writeString(dir.resolve("diffusion_pytorch_model.bin"), "not really a pickle");
        assertThatThrownBy(() -> DiffusersModel.load(dir)).hasMessageContaining("pickles are refused");
    }

    /** A config.json with every channel count scaled by {@code factor}, and {@code layers} resnets per block. */
    private static String scaledConfig(int factor, int layers) throws IOException {
        ObjectNode c = (ObjectNode)
                Json.readFile(CASE.resolve("config.json"));
        c.putArray("block_out_channels").add(16 * factor).add(32 * factor);
        c.put("layers_per_block", layers);
        return c.toString();
    }

    /** The hostile config: with the real weights beside it, it is refused by name before anything is built. */
    @Test
    void aConfigThatDoesNotMatchTheWeightsIsRefusedBeforeTheNetworkIsBuilt() throws IOException {
        Files.copy(CASE.resolve("unet.safetensors"), dir.resolve("diffusion_pytorch_model.safetensors"));
        Files.writeString(dir.resolve("config.json"), scaledConfig(1024, 2));
        // Built first, this network would need about 1.9 TiB; refused, it costs nothing.
        assertThatThrownBy(() -> DiffusersModel.load(dir)).hasMessageContaining("diffusion_pytorch_model.safetensors")
                .hasMessageContaining("tensor 'conv_in.bias' has shape [16] but the config builds [16384]");
        Files.writeString(dir.resolve("config.json"), scaledConfig(1, 50));
        assertThatThrownBy(() -> DiffusersModel.load(dir)).hasMessageContaining("config.json")
                .hasMessageContaining("layers_per_block 50 is more than the 32 allowed");
    }

    /** Weights that match their config but exceed the memory: refused with both amounts, nothing read. */
    @Test
    void weightsLargerThanTheMemoryAreRefusedBeforeAnyIsRead() throws IOException {
        Files.writeString(dir.resolve("config.json"), scaledConfig(1024, 2));
        UNetConfig cfg = DiffusersConfig.read(
                Json.readFile(dir.resolve("config.json")), "config.json");
        SparseSafetensors.write(dir.resolve("diffusion_pytorch_model.safetensors"),
                cfg.parameterShapes().asMap());
        assertThatThrownBy(() -> DiffusersModel.load(dir)).hasMessageMatching(
                "loading .*diffusion_pytorch_model.safetensors needs about 1.9 TiB of memory but .* is available");
    }
}
