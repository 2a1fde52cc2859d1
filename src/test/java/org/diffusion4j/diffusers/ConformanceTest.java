package org.diffusion4j.diffusers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConformanceTest {
    @TempDir
    Path dir;

    @Test
    void everySharedCasePassesWithinTheReadmeTolerances() throws IOException {
        List<Path> cases = Conformance.cases(Shared.diffusers());
        assertThat(cases).hasSize(27);
        for (Path c : cases) {
            Conformance.Result r = Conformance.run(c);
            System.out.println(r.name() + ": " + r.detail());
            assertThat(r.passed()).as(r.name() + ": " + r.detail()).isTrue();
            assertThat(r.error()).isLessThanOrEqualTo(r.tolerance());
        }
    }

    /** Copies a shared case, lets {@code edit} change it, and runs the copy. */
    private Conformance.Result tampered(String name, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode json = (ObjectNode) Json.MAPPER.readTree(Shared.diffusers().resolve(name).toFile());
        edit.accept(json);
        Path copy = dir.resolve(name);
        Json.MAPPER.writeValue(copy.toFile(), json);
        return Conformance.run(copy);
    }

    @Test
    void aWrongTrajectoryFails() throws IOException {
        Conformance.Result r = tampered("sched_17_dpmpp2m_linear.json", j -> {
            ArrayNode prev = (ArrayNode) j.get("steps").get(4).get("prev_sample");
            prev.set(0, prev.get(0).asDouble() + 1e-3);
        });
        assertThat(r.passed()).isFalse();
        assertThat(r.error()).isGreaterThan(5e-4);
    }

    @Test
    void unknownOrUnsupportedConfigsFailWithTheirReason() throws IOException {
        Conformance.Result unknown = tampered("sched_09_euler_linspace_eps.json",
                j -> ((ObjectNode) j.get("full_config")).put("use_magic", true));
        assertThat(unknown.passed()).isFalse();
        assertThat(unknown.detail()).contains("unknown config key 'use_magic'");
        Conformance.Result unsupported = tampered("sched_17_dpmpp2m_linear.json",
                j -> ((ObjectNode) j.get("full_config")).put("thresholding", true));
        assertThat(unsupported.detail()).contains("thresholding=true is not supported");
        Conformance.Result cls = tampered("sched_09_euler_linspace_eps.json", j -> j.put("scheduler", "LCMScheduler"));
        assertThat(cls.detail()).contains("scheduler class 'LCMScheduler' is not supported");
        Conformance.Result kind = tampered("sched_09_euler_linspace_eps.json", j -> j.put("kind", "vae"));
        assertThat(kind.detail()).contains("unknown case kind 'vae'");
    }

    @Test
    void aWrongUnetOutputFails() throws IOException {
        Path shared = Shared.diffusers();
        // The case refers to its folder relative to itself: copy the folder too.
        Path folder = dir.resolve("unet_a_uncond");
        Files.createDirectories(folder);
        for (String f : new String[] {"config.json", "unet.safetensors"}) {
            Files.copy(shared.resolve("unet_a_uncond").resolve(f), folder.resolve(f));
        }
        Conformance.Result r = tampered("unet_a_uncond.json", j -> {
            ArrayNode out = (ArrayNode) j.get("output_float32");
            out.set(3, out.get(3).asDouble() + 0.01);
        });
        assertThat(r.passed()).isFalse();
        assertThat(r.error()).isBetween(0.009, 0.011);
    }

    @Test
    void malformedCaseFilesFailNamingTheProblem() throws IOException {
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"kind\": \"scheduler\", \"kind\": \"scheduler\"}");
        assertThat(Conformance.run(bad).detail()).contains("Duplicate field 'kind'");
        Files.writeString(bad, "{\"kind\": \"scheduler\", \"scheduler\": \"DDPMScheduler\", \"num_inference_steps\": 0}");
        assertThat(Conformance.run(bad).detail()).contains("num_inference_steps must be >= 1");
        assertThatThrownBy(() -> Conformance.cases(dir.resolve("missing"))).hasMessageContaining("not a folder");
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThatThrownBy(() -> Conformance.cases(empty)).hasMessageContaining("holds no *.json case files");
    }

    @Test
    void everyDitCasePassesWithinTheReadmeTolerances() throws IOException {
        List<Path> cases = Conformance.cases(Shared.dit());
        assertThat(cases).hasSize(4);
        for (Path c : cases) {
            Conformance.Result r = Conformance.run(c);
            assertThat(r.passed()).as(r.name() + ": " + r.detail()).isTrue();
            assertThat(r.error()).isLessThanOrEqualTo(Conformance.SD_TOLERANCE);
        }
    }

    @Test
    void aWrongDitOutputOrImageFails() throws IOException {
        Path shared = Shared.dit();
        ObjectNode model = (ObjectNode) Json.readFile(shared.resolve("dit_b_eps.json"));
        ArrayNode out = (ArrayNode) model.get("output_float32").get("data");
        out.set(5, out.get(5).asDouble() + 1e-3);
        model.put("model_dir", shared.toAbsolutePath().resolve("dit_b_eps").toString());
        Path wrong = dir.resolve("dit_wrong.json");
        Files.write(wrong, Json.MAPPER.writeValueAsBytes(model));
        Conformance.Result r = Conformance.run(wrong);
        assertThat(r.passed()).isFalse();
        assertThat(r.error()).isGreaterThan(5e-4);
        ObjectNode pipe = (ObjectNode) Json.readFile(shared.resolve("pipe_a1_ddim_cfg4.json"));
        ArrayNode image = (ArrayNode) pipe.get("output_image").get("data");
        image.set(0, image.get(0).asDouble() + 1e-3);
        pipe.put("pipeline_dir", shared.toAbsolutePath().resolve("ditpipe_a").toString())
                .put("scheduler_dir", shared.toAbsolutePath().resolve("pipe_a1_ddim_cfg4/scheduler").toString());
        Path wrongPipe = dir.resolve("pipe_wrong.json");
        Files.write(wrongPipe, Json.MAPPER.writeValueAsBytes(pipe));
        Conformance.Result p = Conformance.run(wrongPipe);
        assertThat(p.passed()).isFalse();
        assertThat(p.error()).isGreaterThan(5e-4);
    }

    @Test
    void theClipTextEncoderCasesPass() throws IOException {
        for (String name : new String[] {"te_a_quickgelu_legacy_eos.json", "te_b_gelu_eos_first.json"}) {
            Conformance.Result r = Conformance.run(Shared.sd().resolve(name));
            assertThat(r.passed()).as(r.detail()).isTrue();
            assertThat(r.error()).isLessThan(Conformance.SD_TOLERANCE);
        }
    }

    @Test
    void theClipTokenizerCasesPassAndAWrongIdFails() throws IOException {
        Path sd = Shared.sd();
        for (String name : new String[] {"tok_sd1_a.json", "tok_sd2_a.json"}) {
            Conformance.Result r = Conformance.run(sd.resolve(name));
            assertThat(r.passed()).as(r.detail()).isTrue();
            assertThat(r.detail()).contains("25 prompts", "every id equal");
        }
        JsonNode tok = Json.readFile(sd.resolve("tok_sd1_a.json"));
        ((ArrayNode) tok.get("prompts").get(2).get("input_ids")).set(3, 7);
        // The case names its vocabulary relative to itself.
        ((ObjectNode) tok).put("vocab_file", sd.toAbsolutePath().resolve("clip_tokenizer/vocab.json").toString())
                .put("merges_file", sd.toAbsolutePath().resolve("clip_tokenizer/merges.txt").toString());
        Path wrong = dir.resolve("tok_wrong.json");
        Files.write(wrong, Json.MAPPER.writeValueAsBytes(tok));
        Conformance.Result r = Conformance.run(wrong);
        assertThat(r.passed()).isFalse();
        assertThat(r.detail()).contains("ids differ for [it's 3 o'clock]");
        Files.writeString(dir.resolve("index.json"), "{}");
        assertThat(Conformance.cases(dir)).containsExactly(wrong);
    }
}
