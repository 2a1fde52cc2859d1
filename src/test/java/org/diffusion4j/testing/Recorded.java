package org.diffusion4j.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
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
}
