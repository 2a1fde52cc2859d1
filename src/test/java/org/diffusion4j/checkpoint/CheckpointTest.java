package org.diffusion4j.checkpoint;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.tensor.Torch;
import org.diffusion4j.testing.ChildJvm;
import org.diffusion4j.testing.Fuzzing;
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

    /**
     * Child process for the crash test: saves {@code DIR/ck.safetensors} over and over, step i holding 16 MB of the
     * value i in both tensors, so that a pair from two different saves would be caught.
     */
    public static final class SaveLoop {
        public static void main(String[] args) throws IOException {
            Torch.init();
            Path ck = Path.of(args[0]).resolve("ck.safetensors");
            for (int i = 1; ; i++) {
                try (PointerScope scope = new PointerScope()) {
                    ObjectNode cfg = Json.MAPPER.createObjectNode().put("width", 3);
                    Checkpoint.save(ck, new Checkpoint.Sidecar("mlp", cfg, cfg, cfg, "swiss-roll", i, 7, i, i),
                            Map.of("a", torch.full(new long[] {2_000_000}, Tensors.scalar(i)),
                                    "b", torch.full(new long[] {2_000_000}, Tensors.scalar(-i))));
                }
            }
        }
    }

    /** The loaded pair is self-consistent: its tensors hold the step its sidecar records. */
    private static long loadConsistent(Path ck) throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.Loaded l = Checkpoint.load(ck);
            long step = l.sidecar().step();
            assertThat(l.tensors().get("a").min().item_double()).isEqualTo(step);
            assertThat(l.tensors().get("a").max().item_double()).isEqualTo(step);
            assertThat(l.tensors().get("b").max().item_double()).isEqualTo(-step);
            return step;
        }
    }

    @Test
    void killMinusNineDuringSavesAlwaysLeavesALoadableCheckpoint() throws Exception {
        Torch.init();
        Random random = new Random(42);
        int roundsWithLeftovers = 0;
        for (int round = 0; round < 6; round++) {
            Path d = Files.createDirectories(dir.resolve("round" + round));
            Process p = ChildJvm.start(ChildJvm.command(
                    SaveLoop.class.getName(), d.toString()), dir, "saver" + round);
            Path side = d.resolve("ck.json");
            ChildJvm.awaitWhileAlive(p, () -> Files.exists(side), 60, dir, "saver" + round);
            Thread.sleep(random.nextInt(600));
            ChildJvm.kill9(p);
            List<Path> leftovers = AtomicFiles.leftovers(d);
            if (!leftovers.isEmpty()) {
                roundsWithLeftovers++;
            }
            long step = loadConsistent(d.resolve("ck.safetensors"));
            assertThat(step).isPositive();
            Checkpoint.recover(d);
            try (Stream<Path> files = Files.list(d)) {
                assertThat(files.map(f -> f.getFileName().toString()))
                        .as("round %d after recovery", round).containsExactlyInAnyOrder("ck.safetensors", "ck.json");
            }
            assertThat(loadConsistent(d.resolve("ck.safetensors"))).isEqualTo(step);
        }
        // Saving is nearly all the child does, so most kills land inside a save: the test did exercise that.
        assertThat(roundsWithLeftovers).as("rounds whose kill left temp files").isPositive();
    }

    /** A pid that no process has any more. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    @Test
    void aSaveKilledBetweenItsTwoRenamesIsRolledForward() throws Exception {
        Path f = saved();
        // Replay a save of step 13 up to the moment between the weights' rename and the sidecar's.
        Checkpoint.Sidecar next = new Checkpoint.Sidecar("mlp", Json.MAPPER.createObjectNode().put("width", 3),
                Json.MAPPER.createObjectNode(), Json.MAPPER.createObjectNode(), "swiss-roll", 13, 7, 13, 13);
        Path other = Files.createDirectories(dir.resolve("other")).resolve("model.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.save(other, next, Map.of("model.w", torch.full(new long[] {3}, Tensors.scalar(2))));
        }
        Files.copy(other, f, StandardCopyOption.REPLACE_EXISTING);
        Path staged = dir.resolve(AtomicFiles.TEMP_PREFIX + deadPid() + "-5eed-model.json");
        Files.copy(Checkpoint.sidecarOf(other), staged);
        Files.writeString(dir.resolve(AtomicFiles.TEMP_PREFIX + deadPid() + "-beef-model.safetensors"), "partial");

        try (PointerScope scope = new PointerScope()) {
            Checkpoint.Loaded l = Checkpoint.load(f);
            assertThat(l.sidecar().step()).isEqualTo(13);
            assertThat(Tensors.toFloats(l.tensors().get("model.w"))).containsExactly(2f, 2f, 2f);
        }
        assertThat(Checkpoint.recover(dir)).containsExactly(f);
        assertThat(staged).doesNotExist();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("model.safetensors",
                    "model.json", "other");
        }
        assertThat(Checkpoint.readSidecar(f).step()).isEqualTo(13);
        // Without a staged sidecar the mismatch is an error, as before.
        saved();
        Files.copy(other, f, StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> Checkpoint.load(f)).hasMessageContaining("does not match");
    }

    @Test
    void theLossLogIsSavedWithItsCheckpointAndVerifiedAgainstIt() throws IOException {
        Torch.init();
        Path f = dir.resolve("model.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.save(f, sidecar(), Map.of("model.w", torch.ones(3)), "step,loss\n0,1.5\n".getBytes(UTF_8));
        }
        assertThat(Checkpoint.lossLogOf(f)).isEqualTo(dir.resolve("model.loss.csv"));
        assertThat(new String(Checkpoint.readLossLog(f), UTF_8)).isEqualTo("step,loss\n0,1.5\n");
        assertThat(Files.readString(Checkpoint.sidecarOf(f))).contains("\"loss_log_sha256\"");
        // Another run's log beside these weights is named as not theirs.
        Files.writeString(Checkpoint.lossLogOf(f), "step,loss\n0,9.9\n");
        assertThatThrownBy(() -> Checkpoint.readLossLog(f)).hasMessageContaining("model.loss.csv: not the loss log "
                + "saved with model.safetensors");
        // Saved without a log, a checkpoint has none to verify.
        assertThat(Checkpoint.readLossLog(saved())).isNull();
    }

    /** Killed after the weights' rename, before the log's: the staged log and sidecar are both rolled forward. */
    @Test
    void aSaveKilledBeforeItsLogsRenameRollsTheLogForwardToo() throws Exception {
        Torch.init();
        Path f = dir.resolve("model.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.save(f, sidecar(), Map.of("model.w", torch.ones(3)), "old\n".getBytes(UTF_8));
        }
        Path other = Files.createDirectories(dir.resolve("other")).resolve("model.safetensors");
        try (PointerScope scope = new PointerScope()) {
            Checkpoint.save(other, sidecar(), Map.of("model.w", torch.zeros(3)), "new\n".getBytes(UTF_8));
        }
        Files.copy(other, f, StandardCopyOption.REPLACE_EXISTING);
        long dead = deadPid();
        Files.copy(Checkpoint.lossLogOf(other), dir.resolve(AtomicFiles.TEMP_PREFIX + dead + "-1-model.loss.csv"));
        Files.copy(Checkpoint.sidecarOf(other), dir.resolve(AtomicFiles.TEMP_PREFIX + dead + "-2-model.json"));

        assertThat(new String(Checkpoint.readLossLog(f), UTF_8)).isEqualTo("new\n");
        assertThat(Checkpoint.recover(dir)).containsExactly(f);
        assertThat(Files.readString(Checkpoint.lossLogOf(f))).isEqualTo("new\n");
        assertThat(new String(Checkpoint.readLossLog(f), UTF_8)).isEqualTo("new\n");
        assertThat(AtomicFiles.leftovers(dir)).isEmpty();
    }

    @Test
    void aLiveWritersTempFilesAreNotTouched() throws Exception {
        Path mine = dir.resolve(AtomicFiles.TEMP_PREFIX + ProcessHandle.current().pid() + "-1-model.json");
        Files.writeString(mine, "{}");
        Path dead = dir.resolve(AtomicFiles.TEMP_PREFIX + deadPid() + "-2-model.json");
        Files.writeString(dead, "{}");
        Path unrelated = dir.resolve(".d4j-tmp-notapid");
        Files.writeString(unrelated, "x");
        assertThat(AtomicFiles.leftovers(dir)).containsExactly(dead);
        assertThat(AtomicFiles.targetName(dead)).isEqualTo("model.json");
        assertThat(Checkpoint.recover(dir)).isEmpty();
        assertThat(dead).doesNotExist();
        assertThat(mine).exists();
        assertThat(unrelated).exists();
    }

    @Test
    void aNonFiniteModelIsNeverSaved() throws IOException {
        Path f = saved();
        byte[] before = Files.readAllBytes(f);
        try (PointerScope scope = new PointerScope()) {
            assertThatThrownBy(() -> Checkpoint.save(f, sidecar(), Map.of("model.w",
                    Tensors.fromFloats(new float[] {1, Float.NaN, 2}, 3))))
                    .hasMessageContaining("model.safetensors: not saved: tensor 'model.w' holds NaN or infinite");
            assertThatThrownBy(() -> Checkpoint.save(f, sidecar(), Map.of("model.w",
                    Tensors.fromFloats(new float[] {Float.POSITIVE_INFINITY}, 1)))).hasMessageContaining("not saved");
        }
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
    }

    /**
     * Fuzz target for the sidecar reader: the input is the sidecar of a fixed weights file (with "SHA" replaced by
     * their hash, so inputs get past the hash check). It is accepted or refused with an IOException naming the file.
     */
    public static final class SidecarFuzz {
        private static Path weights;

        public static void fuzzerTestOneInput(byte[] data) throws IOException {
            if (weights == null) {
                Torch.init();
                weights = Path.of(System.getenv(Fuzzing.INPUT_ENV) + ".safetensors");
                try (PointerScope scope = new PointerScope()) {
                    Safetensors.write(weights, Map.of("model.w", torch.ones(3)), Map.of());
                }
            }
            String text = new String(data, UTF_8).replace("SHA", Checkpoint.sha256(weights));
            Files.writeString(Checkpoint.sidecarOf(weights), text, UTF_8);
            try {
                Checkpoint.Sidecar s = Checkpoint.readSidecar(weights);
                if (s.modelType() == null || s.modelConfig() == null || s.train() == null || s.data() == null) {
                    throw new AssertionError("accepted a sidecar without a required field: " + text);
                }
            } catch (IOException e) {
                if (!e.getMessage().contains(weights.getFileName().toString().replace(".safetensors", ""))) {
                    throw new AssertionError("error does not name the checkpoint: " + e, e);
                }
            }
        }
    }

    @Test
    void fuzzingTheSidecarFindsNothingButErrorsNamingTheFile() throws Exception {
        Path f = saved();
        String good = Files.readString(Checkpoint.sidecarOf(f)).replace(Checkpoint.sha256(f), "SHA");
        Path work = Files.createDirectories(dir.resolve("fuzz"));
        Fuzzing.run(SidecarFuzz.class, work, Map.of("good", good.getBytes(UTF_8),
                "other-version", good.replace("\"format_version\" : 1", "\"format_version\" : \"1\"").getBytes(UTF_8),
                "array", "[1, 2]".getBytes(UTF_8)));
    }
}
