package org.diffusion4j.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.tensor.Shapes;
import org.diffusion4j.tensor.Tensors;
import org.diffusion4j.testing.Recorded;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;

class PromptEncoderTest {
    private static double[] ids(JsonNode array) {
        double[] out = new double[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    /** A recorded StableDiffusionPipeline run: its prompt's and negative prompt's ids and embeddings. */
    @Test
    void encodesPromptsAsTheRecordedPipelineDid() throws Exception {
        Path sd = Shared.sd();
        JsonNode run = Json.readFile(sd.resolve("pipe_a1_t2i_pndm_cfg7.5.json"));
        try (PointerScope scope = new PointerScope()) {
            PromptEncoder enc = PromptEncoder.load(sd.resolve(run.get("pipeline_dir").asText()));
            String prompt = run.get("call").get("prompt").asText();
            String negative = run.get("call").get("negative_prompt").asText();
            assertThat(Tensors.toDoubles(enc.ids(List.of(prompt)))).containsExactly(ids(run.get("prompt_input_ids")));
            assertThat(Tensors.toDoubles(enc.ids(List.of(negative))))
                    .containsExactly(ids(run.get("negative_prompt_input_ids")));
            Tensor both = enc.encode(List.of(negative, prompt), 0);
            assertThat(Shapes.of(both)).containsExactly(2, 77, 32);
            assertThat(Recorded.error(both.narrow(0, 0, 1), run.get("negative_prompt_embeds"))).isLessThan(1e-4);
            assertThat(Recorded.error(both.narrow(0, 1, 1), run.get("prompt_embeds"))).isLessThan(1e-4);
            assertThat(Recorded.error(enc.encode(List.of(prompt), 1), run.get("prompt_embeds"))).as("clip skip changes them")
                    .isGreaterThan(1e-2);
            assertThatThrownBy(() -> enc.ids(List.of())).hasMessageContaining("no prompt");
        }
    }
}
