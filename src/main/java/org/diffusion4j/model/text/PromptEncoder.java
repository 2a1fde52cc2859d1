package org.diffusion4j.model.text;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.diffusion4j.tensor.Tensors;

/**
 * A Stable Diffusion pipeline's prompt encoding (diffusers' {@code encode_prompt}): each prompt is tokenized to 77
 * ids (cut, with the end token kept, or padded) and read by the CLIP text encoder without an attention mask.
 *
 * @param tokenizer the pipeline's {@code tokenizer/}
 * @param encoder   the pipeline's {@code text_encoder/}
 */
public record PromptEncoder(ClipTokenizer tokenizer, ClipTextModel encoder) {
    /** Loads {@code tokenizer/} and {@code text_encoder/} from a diffusers pipeline folder. */
    public static PromptEncoder load(Path pipeline) throws IOException {
        return new PromptEncoder(ClipTokenizer.load(pipeline.resolve("tokenizer")),
                ClipTextModel.load(pipeline.resolve("text_encoder")));
    }

    /** The 77 ids of each prompt, int64 [B, 77]. */
    public Tensor ids(List<String> prompts) {
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("no prompt to encode");
        }
        long[] ids = new long[prompts.size() * ClipTokenizer.MAX_LENGTH];
        for (int i = 0; i < prompts.size(); i++) {
            int[] row = tokenizer.encodePadded(prompts.get(i)).ids();
            for (int j = 0; j < row.length; j++) {
                ids[i * ClipTokenizer.MAX_LENGTH + j] = row[j];
            }
        }
        return Tensors.fromLongs(ids, prompts.size(), ClipTokenizer.MAX_LENGTH);
    }

    /**
     * @param clipSkip 0 for the last layer (SD 1.x), k to use the output k layers earlier through the final
     *                 LayerNorm (diffusers' {@code clip_skip}; SD 2.x-style penultimate layer = 1)
     * @return the prompt embeddings, float32 [B, 77, hidden]
     */
    public Tensor encode(List<String> prompts, int clipSkip) {
        try (NoGradGuard guard = new NoGradGuard()) {
            return encoder.forward(ids(prompts), null).skipped(encoder, clipSkip);
        }
    }
}
