package org.diffusion4j.model.text;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Learns a byte-level BPE vocabulary in CLIP's layout from a corpus (Sennrich et al. 2016): start from one symbol per
 * UTF-8 byte of each pre-token, then repeatedly merge the most frequent adjacent pair, counted over the corpus's
 * pre-tokens. For the small tokenizers of models trained here, whose captions come from a few templates: every
 * caption word ends as one token, and words never seen still encode, byte by byte.
 *
 * <p>Vocabulary ids: the 256 byte characters, the same with "&lt;/w&gt;", one per merge in order, then the start
 * and end tokens (the end token has the largest id, as in CLIP, so pooling at the largest id finds it).
 */
public final class BpeLearner {
    private BpeLearner() {}

    /**
     * @param corpus    texts (cleaned and pre-tokenised as {@link ClipTokenizer} does)
     * @param maxMerges at most this many merges; fewer when no adjacent pair is left
     * @return a tokenizer padding with the end token (SD 1.x's convention)
     */
    public static ClipTokenizer learn(Collection<String> corpus, int maxMerges) {
        if (maxMerges < 0 || maxMerges > 1 << 20) {
            throw new IllegalArgumentException("merges must be in [0, 2^20], got " + maxMerges);
        }
        // Distinct pre-tokens with their counts; insertion order keeps the result independent of hashing.
        Map<List<String>, Integer> words = new LinkedHashMap<>();
        for (String text : corpus) {
            for (List<String> w : ClipTokenizer.initialSymbols(text)) {
                words.merge(w, 1, Integer::sum);
            }
        }
        List<String> merges = new ArrayList<>();
        List<List<String>> symbols = new ArrayList<>(words.keySet());
        List<Integer> counts = new ArrayList<>(words.values());
        while (merges.size() < maxMerges) {
            // Sorted by pair, so that ties go to the first pair in string order on every machine.
            Map<String, Integer> pairs = new TreeMap<>();
            for (int i = 0; i < symbols.size(); i++) {
                List<String> w = symbols.get(i);
                for (int j = 0; j + 1 < w.size(); j++) {
                    pairs.merge(w.get(j) + " " + w.get(j + 1), counts.get(i), Integer::sum);
                }
            }
            String best = null;
            int bestCount = 0;
            for (Map.Entry<String, Integer> e : pairs.entrySet()) {
                if (e.getValue() > bestCount) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best == null) {
                break;
            }
            merges.add(best);
            String a = best.substring(0, best.indexOf(' '));
            String b = best.substring(best.indexOf(' ') + 1);
            for (int i = 0; i < symbols.size(); i++) {
                symbols.set(i, ClipTokenizer.mergePair(symbols.get(i), a, b));
            }
        }
        Map<String, Integer> vocab = new HashMap<>();
        List<String> bytes = ClipTokenizer.byteChars();
        for (String c : bytes) {
            vocab.put(c, vocab.size());
        }
        for (String c : bytes) {
            vocab.put(c + "</w>", vocab.size());
        }
        for (String m : merges) {
            vocab.putIfAbsent(m.replace(" ", ""), vocab.size());
        }
        vocab.put(ClipTokenizer.START, vocab.size());
        vocab.put(ClipTokenizer.END, vocab.size());
        return new ClipTokenizer(vocab, merges, ClipTokenizer.END);
    }
}
