package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.autoencoder.AutoencoderConfig;
import org.diffusion4j.model.autoencoder.AutoencoderKL;
import org.diffusion4j.model.text.ClipTextModel;
import org.diffusion4j.model.text.ClipTokenizer;
import org.diffusion4j.model.text.TextUNet;
import org.diffusion4j.model.text.TextUNetConfig;
import org.diffusion4j.model.unet.UNet2DConditionModel;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.tensor.Rng;
import org.diffusion4j.tensor.Shapes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineExportTest {
    @TempDir
    Path dir;

    private static TextUNet network() {
        return TextUNetConfig.of(new long[] {2, 4, 4}, List.of(16, 32), 32, 1,
                List.of(List.of("a horizontal bar"), List.of("a vertical bar"))).build(Rng.of(3));
    }

    private static AutoencoderKL vae() {
        return AutoencoderConfig.of(8, 1, List.of(8, 16), 2).build(Rng.of(4));
    }

    @Test
    void theFolderLoadsBackIntoTheSameFunction() throws Exception {
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = network();
            net.eval();
            Path out = dir.resolve("pipe");
            PipelineExport.write(out, net, vae(), 0.5, ScheduleConfig.ddpmDefault(), Parameterization.V);
            ClipTokenizer tok = ClipTokenizer.load(out.resolve("tokenizer"));
            ClipTextModel text = ClipTextModel.load(out.resolve("text_encoder"));
            UNet2DConditionModel unet = UNet2DConditionModel.load(out.resolve("unet"));
            Tensor ids = net.ids(List.of("a vertical bar", "an unseen prompt"));
            int[] row = tok.encodePadded("an unseen prompt").ids();
            long[] got = new long[77];
            ids.narrow(0, 1, 1).contiguous().data_ptr_long().get(got);
            for (int i = 0; i < 77; i++) {
                assertThat(got[i]).isEqualTo(row[i]);
            }
            Tensor x = Rng.of(5).randn(2, 2, 4, 4);
            Tensor t = torch.tensor(new float[] {20, 900});
            Tensor ours = net.forward(x, t, ids);
            Tensor theirs = unet.forward(x, t, text.forward(ids, null).lastHiddenState());
            assertThat(ours.sub(theirs).abs().max().item_double()).isZero();

            var sched = Json.readFile(out.resolve("scheduler/scheduler_config.json"));
            assertThat(sched.get("prediction_type").asText()).isEqualTo("v_prediction");
            assertThat(Json.readFile(out.resolve("vae/config.json")).get("scaling_factor").asDouble()).isEqualTo(0.5);
            StableDiffusion sd = StableDiffusion.load(out);
            Tensor image = sd.generate(new StableDiffusion.Request("a vertical bar", null, 3, 4, 0, 0, 2, 0, 2, false,
                    0), null, null, org.diffusion4j.sampler.StepListener.NONE);
            assertThat(Shapes.of(image)).containsExactly(2, 1, 8, 8);
        }
    }

    @Test
    void refusesFlowModelsAndExistingFoldersLeavingNothingBehind() throws Exception {
        try (PointerScope scope = new PointerScope()) {
            TextUNet net = network();
            Path out = dir.resolve("pipe");
            assertThatThrownBy(() -> PipelineExport.write(out, net, vae(), 1, ScheduleConfig.ddpmDefault(),
                    Parameterization.FLOW)).hasMessageContaining("flow");
            Files.createDirectories(out);
            assertThatThrownBy(() -> PipelineExport.write(out, net, vae(), 1, ScheduleConfig.ddpmDefault(),
                    Parameterization.EPS)).hasMessageContaining("already exists");
            try (Stream<Path> left = Files.list(dir)) {
                assertThat(left.map(p -> p.getFileName().toString())).containsExactly("pipe");
            }
        }
    }
}
