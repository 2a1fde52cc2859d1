package org.diffusion4j.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.cli.Main;
import org.diffusion4j.sampling.SamplerSpec;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.testing.Fuzzing;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateRequestTest {
    @TempDir
    static Path dir;
    static Map<String, ServedModel> models = new LinkedHashMap<>();
    static final ServeConfig LIMITS = new ServeConfig("127.0.0.1", 0, List.of(), 100, 4, 3, 1, 1, 16, 8);

    @BeforeAll
    static void load() throws Exception {
        Path flow = dir.resolve("flow.safetensors");
        assertThat(Main.run("train", "--data", "mnist", "--prediction", "flow", "--channels", "8,8", "--steps", "2",
                "--batch-size", "4", "--out", flow.toString())).isZero();
        models.put("mnist-unet", ServedModel.load(Path.of("models/mnist-unet.safetensors")));
        models.put("flow", ServedModel.load(flow));
    }

    private static GenerateRequest parse(Map<String, String> fields) {
        return GenerateRequest.parse(fields, models, LIMITS, 42, "r1");
    }

    @Test
    void fillsDefaultsFromTheModelAndTheServer() {
        GenerateRequest r = parse(Map.of("model", "mnist-unet"));
        assertThat(r.spec().kind()).isEqualTo(SamplerSpec.Kind.DPMPP_3M_SDE);
        assertThat(r.spec().steps()).isEqualTo(30);
        assertThat(r.spec().clip()).isTrue();
        assertThat(r.seed()).isEqualTo(42);
        assertThat(r.id()).isEqualTo("r1");
        assertThat(r.batch()).isEqualTo(1);
        assertThat(r.format()).isEqualTo("png");
        assertThat(r.label()).isNull();
        assertThat(r.summary()).isEqualTo("mnist-unet dpm++3m-sde-30 seed 42");
        // A server whose --max-steps is below the default step count runs its maximum, not more.
        ServeConfig few = new ServeConfig("127.0.0.1", 0, List.of(), 12, 4, 3, 1, 1, 16, 8);
        assertThat(GenerateRequest.parse(Map.of("model", "mnist-unet"), models, few, 42, "r1").spec().steps())
                .isEqualTo(12);
        GenerateRequest f = parse(Map.of("model", "flow", "steps", "8", "seed", "3", "karras", "false"));
        assertThat(f.spec().kind()).isEqualTo(SamplerSpec.Kind.DPMPP_3M_SDE);
        assertThat(f.summary()).isEqualTo("flow dpm++3m-sde-8 seed 3");
    }

    @Test
    void checksEveryFieldAgainstTheModelAndTheLimits() {
        assertThatThrownBy(() -> parse(Map.of())).hasMessageContaining("model: required when several are served");
        assertThatThrownBy(() -> parse(Map.of("model", "flow", "sampler", "ddim")))
                .hasMessageContaining("ddim walks a DDPM schedule").hasMessageContaining("flow-matching");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "steps", "101")))
                .hasMessageContaining("steps: must be in [1, 100]");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "batch", "5")))
                .hasMessageContaining("batch: must be in [1, 4]");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "eta", "2")))
                .hasMessageContaining("eta: must be in [0.0, 1.0]");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "guidance", "NaN")))
                .hasMessageContaining("guidance: must be in");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "karras", "yes")))
                .hasMessageContaining("karras: expected true or false");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "sampler", "euler", "karras", "true")))
                .hasMessageContaining("sampler: --karras is for DDPM-trained models");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "seed", "1.5")))
                .isInstanceOf(GenerateRequest.BadRequest.class).hasMessageContaining("seed: expected an integer");
    }

    /** A 28x28 grey PNG, base64: a gradient, or with {@code half} white in its bottom half and black above. */
    static String png(boolean half) throws IOException {
        var img = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                img.getRaster().setSample(x, y, 0, half ? (y >= 14 ? 255 : 0) : 9 * x);
            }
        }
        var out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "png", out);
        return java.util.Base64.getEncoder().encodeToString(out.toByteArray());
    }

    /** init_image, strength and mask: decoded at the model's size, with diffusers' defaults and loud refusals. */
    @Test
    void readsAnInitImageAStrengthAndAMask() throws IOException {
        GenerateRequest i2i = parse(Map.of("model", "mnist-unet", "init_image", "data:image/png;base64," + png(false)));
        assertThat(i2i.start().strength()).isEqualTo(0.8);
        assertThat(i2i.start().mask()).isNull();
        assertThat(org.diffusion4j.tensor.Shapes.of(i2i.start().data())).containsExactly(1, 1, 28, 28);
        // Pixel (x = 3) of the gradient is 27 / 255, in [-1, 1].
        assertThat(org.diffusion4j.tensor.Tensors.toFloats(i2i.start().data())[3])
                .isCloseTo(2 * 27 / 255f - 1, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(i2i.summary()).isEqualTo("mnist-unet dpm++3m-sde-30 seed 42 img2img strength 0.8");
        GenerateRequest paint = parse(Map.of("model", "mnist-unet", "init_image", png(false), "mask", png(true)));
        assertThat(paint.start().strength()).isEqualTo(1.0);
        assertThat(paint.job().start()).isSameAs(paint.start());
        float[] mask = org.diffusion4j.tensor.Tensors.toFloats(paint.start().mask());
        assertThat(mask[0]).isZero();
        assertThat(mask[27 * 28]).isEqualTo(1);
        assertThat(paint.summary()).endsWith("inpainting strength 1.0");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "strength", "0.5")))
                .hasMessage("strength: needs init_image");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "init_image", "%%%")))
                .hasMessageContaining("init_image: expected a base64 PNG or JPEG");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "init_image", "aGVsbG8=")))
                .hasMessageContaining("init_image: not a readable PNG or JPEG");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "init_image", png(false), "strength", "0.01")))
                .hasMessageContaining("strength: strength 0.01 of 30 steps runs no step");
        assertThatThrownBy(() -> parse(Map.of("model", "mnist-unet", "init_image", png(false), "strength", "0")))
                .hasMessageContaining("strength: must be in (0, 1]");
    }

    @Test
    void readsScalarJsonFieldsOnly() throws Exception {
        ObjectMapper m = new ObjectMapper();
        Map<String, String> f = GenerateRequest.fields(m.readTree("{\"model\":\"flow\",\"steps\":4,\"karras\":true,"
                + "\"class\":null}"));
        assertThat(f).containsExactly(Map.entry("model", "flow"), Map.entry("steps", "4"), Map.entry("karras", "true"));
        assertThatThrownBy(() -> GenerateRequest.fields(m.readTree("{\"steps\":[4]}")))
                .hasMessage("steps: expected a JSON number, got [4]");
        assertThatThrownBy(() -> GenerateRequest.fields(m.readTree("{\"steps\":\"4\"}")))
                .hasMessage("steps: expected a JSON number, got \"4\"");
        assertThatThrownBy(() -> GenerateRequest.fields(m.readTree("{\"karras\":1}")))
                .hasMessage("karras: expected a JSON boolean, got 1");
        assertThatThrownBy(() -> GenerateRequest.fields(m.readTree("{\"sampler\":5}")))
                .hasMessage("sampler: expected a JSON string, got 5");
        assertThat(GenerateRequest.shown("x".repeat(70))).isEqualTo("x".repeat(64) + "... (70 characters)");
        assertThatThrownBy(() -> GenerateRequest.fields(m.readTree("\"x\""))).hasMessageContaining("JSON object");
    }

    /**
     * Fuzz target for request bodies as the server reads them: JSON, then its fields, then a request against the
     * shipped model. Every refusal is a BadRequest (a 400 with its message); nothing else may escape.
     */
    public static final class Fuzz {
        private static Map<String, ServedModel> served;

        public static void fuzzerTestOneInput(byte[] data) throws Exception {
            if (served == null) {
                Torch.init();
                served = Map.of("mnist-unet", ServedModel.load(Path.of("models/mnist-unet.safetensors")));
            }
            JsonNode node;
            try {
                node = Json.MAPPER.readTree(data);
            } catch (IOException e) {
                return; // the server answers 400 "not valid JSON"
            }
            try {
                GenerateRequest r = GenerateRequest.parse(GenerateRequest.fields(node), served, LIMITS, 42, "r1");
                if (r.spec().steps() > LIMITS.maxSteps() || r.batch() > LIMITS.maxBatch()) {
                    throw new AssertionError("accepted a request beyond the limits: " + node);
                }
            } catch (GenerateRequest.BadRequest e) {
                if (e.getMessage() == null || e.getMessage().isBlank() || e.getMessage().length() > 400) {
                    throw new AssertionError("unhelpful or unbounded message: " + e.getMessage());
                }
            }
        }
    }

    @Test
    void fuzzingRequestBodiesFindsNothingButBadRequests() throws Exception {
        Path work = Files.createDirectories(dir.resolve("fuzz"));
        Fuzzing.run(Fuzz.class, work, Map.of(
                "plain", "{\"model\":\"mnist-unet\",\"steps\":3,\"seed\":5,\"batch\":2}".getBytes(),
                "full", ("{\"model\":\"mnist-unet\",\"sampler\":\"euler\",\"steps\":20,\"karras\":true,"
                        + "\"eta\":0.5,\"scale\":2,\"format\":\"json\",\"id\":\"x1\"}").getBytes(),
                "inpaint", ("{\"model\":\"mnist-unet\",\"steps\":4,\"strength\":0.5,\"init_image\":\"" + png(false)
                        + "\",\"mask\":\"" + png(true) + "\"}").getBytes(),
                "odd", "{\"steps\":\"5\",\"batch\":1e300,\"class\":null}".getBytes()));
    }
}
