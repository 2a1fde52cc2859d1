package org.diffusion4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.diffusion4j.diffusers.Conformance;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Tensors;

/** Comparisons with tensors recorded in the conformance cases ({"shape", "data"} objects). */
public final class Recorded {
    private Recorded() {}

    /** max |ours - theirs| / max(1, |theirs|), the shared READMEs' error; the sizes must agree. */
    public static double error(Tensor ours, JsonNode golden) {
        float[] a = Tensors.toFloats(ours.contiguous());
        JsonNode data = golden.get("data");
        assertThat(a).hasSize(data.size());
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double want = data.get(i).asDouble();
            worst = Math.max(worst, Math.abs(a[i] - want) / Math.max(1, Math.abs(want)));
        }
        return worst;
    }

    /**
     * Replays every Stable Diffusion case whose file name matches {@code pattern} (at least {@code atLeast} must) and
     * requires each to pass with an error below {@code bound}.
     */
    public static void requireSdCasesPass(String pattern, int atLeast, double bound) throws IOException {
        List<Path> cases;
        try (Stream<Path> files = Files.list(Shared.sd())) {
            cases = files.filter(f -> f.getFileName().toString().matches(pattern)).sorted().toList();
        }
        assertThat(cases.size()).as("cases matching " + pattern).isGreaterThanOrEqualTo(atLeast);
        for (Path c : cases) {
            Conformance.Result r = Conformance.run(c);
            assertThat(r.passed()).as(c + ": " + r.detail()).isTrue();
            assertThat(r.error()).as(c.toString()).isLessThan(bound);
        }
    }
}
