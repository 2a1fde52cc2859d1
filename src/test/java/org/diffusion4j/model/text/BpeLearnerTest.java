package org.diffusion4j.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeLearnerTest {
    private static final List<String> CORPUS = List.of("the digit seven", "a handwritten seven", "the digit one",
            "a handwritten 7", "The Digit Seven!");

    @Test
    void everyCorpusWordBecomesOneTokenAndUnseenWordsStillEncode() {
        ClipTokenizer tok = BpeLearner.learn(CORPUS, 10_000);
        assertThat(tok.tokenize("the digit seven")).containsExactly("the</w>", "digit</w>", "seven</w>");
        assertThat(tok.tokenize("a handwritten 7")).containsExactly("a</w>", "handwritten</w>", "7</w>");
        // Byte-level: a word never seen falls back to smaller pieces, never to the unknown token.
        List<String> unseen = tok.tokenize("zebra");
        assertThat(String.join("", unseen)).isEqualTo("zebra</w>");
        int[] ids = tok.encode("zebra");
        for (int i = 1; i < ids.length - 1; i++) {
            assertThat(ids[i]).isNotEqualTo(tok.endId());
        }
    }

    @Test
    void layoutIsClipsWithTheEndTokenLastAndTheSameMergesEveryTime() {
        ClipTokenizer a = BpeLearner.learn(CORPUS, 10_000);
        ClipTokenizer b = BpeLearner.learn(List.copyOf(CORPUS), 10_000);
        assertThat(a.merges()).isEqualTo(b.merges()).isNotEmpty();
        assertThat(a.tokensById()).isEqualTo(b.tokensById());
        assertThat(a.endId()).isEqualTo(a.vocabSize() - 1);
        assertThat(a.startId()).isEqualTo(a.vocabSize() - 2);
        assertThat(a.tokensById().get(256)).endsWith("</w>");
        assertThat(a.vocabSize()).isEqualTo(512 + a.merges().size() + 2);
        ClipTokenizer capped = BpeLearner.learn(CORPUS, 3);
        assertThat(capped.merges()).hasSize(3);
        assertThatThrownBy(() -> BpeLearner.learn(CORPUS, -1)).hasMessageContaining("merges");
    }

    @Test
    void aSavedTokenizerLoadsBackWithTheSameIds(@TempDir Path dir) throws Exception {
        ClipTokenizer tok = BpeLearner.learn(CORPUS, 10_000);
        tok.save(dir.resolve("tokenizer"));
        ClipTokenizer back = ClipTokenizer.load(dir.resolve("tokenizer"));
        for (String p : List.of("the digit seven", "", "a handwritten 7, unseen words é")) {
            assertThat(back.encodePadded(p).ids()).isEqualTo(tok.encodePadded(p).ids());
        }
        assertThat(back.padId()).isEqualTo(tok.endId());
    }
}
