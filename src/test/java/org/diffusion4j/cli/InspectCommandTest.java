package org.diffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.diffusion4j.checkpoint.Checkpoint;
import org.diffusion4j.checkpoint.Safetensors;
import org.diffusion4j.tensor.Tensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    @TempDir
    Path dir;

    @Test
    void listsTheTensorsAndTheVerifiedSidecarOfACheckpoint() {
        Path ck = dir.resolve("m.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "two-moons", "--hidden", "16", "--steps", "2",
                "--batch-size", "8", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        MainTest.Run r = MainTest.run("inspect", ck.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("in_proj.weight").contains("total:").contains("loads:    ok (weights and their EMA)")
                .contains("resumes:  yes");
    }

    /** Weights without the optimizer's state sample fine; inspect says resuming would fail, and resuming does. */
    @Test
    void saysWhenACheckpointSamplesButCannotBeResumed() throws Exception {
        Path ck = dir.resolve("m.safetensors");
        assertThat(MainTest.run("train", "--data", "two-moons", "--hidden", "16", "--steps", "2", "--batch-size", "8",
                "--out", ck.toString()).code()).isZero();
        Path stripped = dir.resolve("stripped.safetensors");
        try (PointerScope scope = new PointerScope()) {
            var contents = Safetensors.read(ck);
            Map<String, Tensor> t = new LinkedHashMap<>(contents.tensors());
            t.keySet().removeIf(k -> k.startsWith("optim."));
            Safetensors.write(stripped, t, contents.metadata());
        }
        Files.writeString(Checkpoint.sidecarOf(stripped),
                Files.readString(Checkpoint.sidecarOf(ck)).replace(
                        Checkpoint.sha256(ck),
                        Checkpoint.sha256(stripped)));
        MainTest.Run r = MainTest.run("inspect", stripped.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("loads:    ok").contains("resumes:  no: no optim.exp_avg.* tensors");
        MainTest.Run resume = MainTest.run("train", "--data", "two-moons", "--hidden", "16", "--steps", "4",
                "--batch-size", "8", "--resume", stripped.toString(), "--out", dir.resolve("more.safetensors").toString());
        assertThat(resume.code()).isEqualTo(1);
        assertThat(resume.err()).contains("missing tensor 'optim.exp_avg.");
    }

    /**
     * Checkpoints whose sidecar matches its weights (so "sidecar verified" holds) but which the loaders refuse: inspect
     * runs the loaders too, and exits 1 saying what they refused.
     */
    @Test
    void checkpointsTheLoadersRefuseAreReportedAsNotLoading() throws Exception {
        Path ck = dir.resolve("m.safetensors");
        MainTest.Run train = MainTest.run("train", "--data", "two-moons", "--hidden", "16", "--steps", "2",
                "--batch-size", "8", "--out", ck.toString());
        assertThat(train.code()).as(train.err()).isZero();
        String[][] cases = {
            {"nan", "", "parameter 'out_proj.bias' holds NaN or infinite values"},
            {"no-ema", "", "missing tensor 'ema.in_proj.weight' (shape [16, 2])"},
            {"no-moment", "", "missing tensor 'optim.exp_avg_sq.out_proj.weight'"},
            {"extra", "", "unexpected tensor 'junk'"},
            // The sidecar edited to a 16 GiB-per-layer width: refused by name, nothing built.
            {"hidden", "\"hidden\" : 16|\"hidden\" : 65536", "has shape [16] but the config builds [65536]"},
            {"type", "\"model_type\" : \"mlp\"|\"model_type\" : \"transformer\"", "transformer"},
            {"beta", "\"beta_end\" : 0.02|\"beta_end\" : 5.0", "beta"},
            {"steps", "\"num_train_timesteps\" : 1000|\"num_train_timesteps\" : 0", "num_train_timesteps"},
        };
        for (String[] c : cases) {
            Path bad = dir.resolve(c[0] + ".safetensors");
            try (PointerScope scope = new PointerScope()) {
                var contents = Safetensors.read(ck);
                Map<String, Tensor> t = new LinkedHashMap<>(contents.tensors());
                if (c[0].equals("nan")) {
                    t.get("model.out_proj.bias").fill_(Tensors.scalar(Double.NaN));
                } else if (c[0].equals("no-ema")) {
                    t.remove("ema.in_proj.weight");
                } else if (c[0].equals("no-moment")) {
                    t.remove("optim.exp_avg_sq.out_proj.weight");
                } else if (c[0].equals("extra")) {
                    t.put("junk", torch.zeros(2));
                }
                Safetensors.write(bad, t, contents.metadata());
            }
            String sidecar = Files.readString(Checkpoint.sidecarOf(ck))
                    .replace(Checkpoint.sha256(ck),
                            Checkpoint.sha256(bad));
            if (!c[1].isEmpty()) {
                String[] swap = c[1].split("\\|");
                assertThat(sidecar).contains(swap[0]);
                sidecar = sidecar.replace(swap[0], swap[1]);
            }
            Files.writeString(Checkpoint.sidecarOf(bad), sidecar);
            MainTest.Run r = MainTest.run("inspect", bad.toString());
            assertThat(r.code()).as(c[0] + ": " + r.out() + r.err()).isEqualTo(1);
            assertThat(r.err()).as(c[0]).contains("error: " + bad + " does not load: ").contains(c[2]);
        }
    }

    /** A missing file, a directory and a FIFO are each refused with the path and the reason; the FIFO never blocks. */
    @Test
    void namesThePathAndWhatIsWrongWithIt() throws Exception {
        MainTest.Run missing = MainTest.run("inspect", dir.resolve("missing.safetensors").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("error: " + dir.resolve("missing.safetensors") + ": no such file");
        Path folder = Files.createDirectory(dir.resolve("folder.safetensors"));
        assertThat(MainTest.run("inspect", folder.toString()).err())
                .contains("error: " + folder + ": is a directory, not a safetensors file");
        Path fifo = dir.resolve("pipe.safetensors");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(mk.waitFor()).as("mkfifo").isZero();
        MainTest.Run pipe = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> MainTest.run("inspect", fifo.toString()));
        assertThat(pipe.err()).contains("error: " + fifo + ": not a regular file (a pipe, socket or device)");
        MainTest.Run sample = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> MainTest.run("sample", "--checkpoint", fifo.toString(), "--out", dir.resolve("s.png").toString()));
        assertThat(sample.err()).contains(fifo + ": not a regular file");
    }
}
