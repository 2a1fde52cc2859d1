package org.diffusion4j.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.diffusion4j.checkpoint.Json;
import org.diffusion4j.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipTokenizerTest {
    @TempDir
    Path dir;

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /** Every recorded prompt: BPE tokens, untruncated ids, the 77 padded ids and the attention mask. */
    private static void matchesTransformers(String file) throws Exception {
        Path sd = Shared.sd();
        JsonNode c = Json.readFile(sd.resolve(file));
        ClipTokenizer tok = ClipTokenizer.load(sd.resolve(c.get("vocab_file").asText()),
                sd.resolve(c.get("merges_file").asText()), c.get("pad_token").asText());
        assertThat(tok.vocabSize()).isEqualTo(c.get("vocab_size").asInt());
        assertThat(tok.startId()).isEqualTo(c.get("bos_token_id").asInt());
        assertThat(tok.endId()).isEqualTo(c.get("eos_token_id").asInt());
        assertThat(tok.padId()).isEqualTo(c.get("pad_token_id").asInt());
        assertThat(c.get("prompts").size()).isEqualTo(25);
        for (JsonNode p : c.get("prompts")) {
            String text = p.get("text").asText();
            List<String> bpe = new ArrayList<>();
            p.get("bpe_tokens").forEach(t -> bpe.add(t.asText()));
            assertThat(tok.tokenize(text)).as("tokens of %s", text).containsExactlyElementsOf(bpe);
            assertThat(tok.encode(text)).as("ids of %s", text).containsExactly(ints(p.get("ids_untruncated")));
            ClipTokenizer.Encoding e = tok.encodePadded(text);
            assertThat(e.ids()).as("padded ids of %s", text).containsExactly(ints(p.get("input_ids")));
            assertThat(e.attentionMask()).as("mask of %s", text).containsExactly(ints(p.get("attention_mask")));
            assertThat(e.truncated()).as("truncated %s", text).isEqualTo(p.get("truncated").asBoolean());
        }
    }

    @Test
    void givesTransformersIdsForEveryRecordedPromptPaddedWithTheEndToken() throws Exception {
        matchesTransformers("tok_sd1_a.json");
    }

    @Test
    void givesTransformersIdsForEveryRecordedPromptPaddedWithAnExclamationMark() throws Exception {
        matchesTransformers("tok_sd2_a.json");
    }

    @Test
    void readsAPipelinesTokenizerFolder() throws Exception {
        ClipTokenizer tok = ClipTokenizer.load(Shared.sd().resolve("sdpipe_a").resolve("tokenizer"));
        assertThat(tok.vocabSize()).isEqualTo(1000);
        assertThat(tok.startId()).isEqualTo(998);
        assertThat(tok.endId()).isEqualTo(999);
        assertThat(tok.padToken()).isEqualTo(ClipTokenizer.END);
        int[] ids = tok.encodePadded("a photo of a cat").ids();
        assertThat(ids).hasSize(ClipTokenizer.MAX_LENGTH);
        assertThat(ids[0]).isEqualTo(998);
        assertThat(ids[ClipTokenizer.MAX_LENGTH - 1]).isEqualTo(999);
    }

    @Test
    void refusesBrokenTokenizerFiles() throws Exception {
        assertThatThrownBy(() -> ClipTokenizer.load(dir)).hasMessageContaining("vocab.json")
                .hasMessageContaining("missing");
        Files.writeString(dir.resolve("vocab.json"), "{\"a</w>\": 0}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        assertThatThrownBy(() -> ClipTokenizer.load(dir)).hasMessageContaining("no start token '<|startoftext|>'");
        Files.writeString(dir.resolve("vocab.json"), "{\"a</w>\": 0, \"a</w>\": 1}");
        assertThatThrownBy(() -> ClipTokenizer.load(dir)).hasMessageContaining("vocab.json");
        assertThatThrownBy(() -> new ClipTokenizer(Map.of(ClipTokenizer.START, 0, ClipTokenizer.END, 1),
                List.of("abc"), ClipTokenizer.END)).hasMessageContaining("merge 1");
        assertThatThrownBy(() -> new ClipTokenizer(Map.of(ClipTokenizer.START, 0, ClipTokenizer.END, 1),
                List.of(), "!")).hasMessageContaining("no pad token '!'");
    }

    @Test
    void cleansTextAsBertsBasicTokenizer() {
        assertThat(ClipTokenizer.basicClean("  A\tB\u0000C\u200b  D\u3000E ")).isEqualTo("a bc d e");
        assertThat(ClipTokenizer.basicClean("猫在")).isEqualTo("猫 在");
        assertThat(ClipTokenizer.basicClean("Cafe\u0301")).isEqualTo("café");
    }
}
