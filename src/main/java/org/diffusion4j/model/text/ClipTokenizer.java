package org.diffusion4j.model.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.diffusion4j.checkpoint.Json;

/**
 * CLIP's byte-level BPE tokenizer, as transformers' {@code CLIPTokenizer} runs it without ftfy (what a plain
 * {@code pip install diffusers transformers} gives, and what Stable Diffusion pipelines were recorded with):
 * <ol>
 *   <li>split out the special tokens (exact matches of the start, end and pad tokens);</li>
 *   <li>clean each piece as BERT's BasicTokenizer does: drop NUL, U+FFFD and control characters, turn whitespace into
 *   spaces, put spaces around CJK ideographs, NFC, split on whitespace, lower-case;</li>
 *   <li>find CLIP's pre-tokens ({@code 's|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+}, ignoring case);</li>
 *   <li>map each pre-token's UTF-8 bytes to printable characters (GPT-2's table), mark its end with
 *   {@code </w>} and merge adjacent pairs by rank until no ranked pair is left;</li>
 *   <li>{@code [bos] + ids + [eos]}; padded to 77 with the pad token (SD 1.x: the end token; SD 2.x: "!"), longer
 *   prompts cut to bos + the first 75 ids + eos.</li>
 * </ol>
 * Thread-safe.
 */
public final class ClipTokenizer {
    /** CLIP's context length. */
    public static final int MAX_LENGTH = 77;
    public static final String START = "<|startoftext|>";
    public static final String END = "<|endoftext|>";

    private static final Pattern PRE_TOKEN = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
    private static final String[] BYTE_CHARS = byteTable();

    private final Map<String, Integer> vocab;
    private final List<String> merges;
    private final Map<String, Integer> ranks;
    private final String padToken;
    private final int bos;
    private final int eos;
    private final int pad;
    private final List<String> specials;
    private final Map<String, List<String>> cache = new ConcurrentHashMap<>();

    /**
     * @param vocab    token to id ({@code vocab.json}); must hold the start and end tokens
     * @param merges   merge rules in rank order, each "a b"
     * @param padToken the pad token, which must be in the vocabulary
     */
    public ClipTokenizer(Map<String, Integer> vocab, List<String> merges, String padToken) {
        this.vocab = Map.copyOf(vocab);
        this.merges = List.copyOf(merges);
        Map<String, Integer> r = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            String m = merges.get(i);
            if (m.split(" ", -1).length != 2) {
                throw new IllegalArgumentException("merge " + (i + 1) + " is not two symbols separated by a space: '"
                        + m + "'");
            }
            r.putIfAbsent(m, i);
        }
        this.ranks = Map.copyOf(r);
        this.padToken = padToken;
        this.bos = id(START, "start token");
        this.eos = id(END, "end token");
        this.pad = id(padToken, "pad token");
        List<String> s = new ArrayList<>(List.of(START, END));
        if (!s.contains(padToken)) {
            s.add(padToken);
        }
        this.specials = List.copyOf(s);
    }

    private int id(String token, String what) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("the vocabulary has no " + what + " '" + token + "'");
        }
        return id;
    }

    /**
     * Reads a diffusers {@code tokenizer/} folder: {@code vocab.json}, {@code merges.txt} and, when present,
     * {@code tokenizer_config.json} for the pad token (default: the end token, as SD 1.x).
     *
     * @throws IOException naming the file that is missing or malformed
     */
    public static ClipTokenizer load(Path folder) throws IOException {
        String pad = END;
        Path config = folder.resolve("tokenizer_config.json");
        if (Files.isRegularFile(config)) {
            JsonNode c = Json.readFile(config);
            JsonNode p = c.path("pad_token");
            if (p.isTextual()) {
                pad = p.asText();
            } else if (p.isObject() && p.path("content").isTextual()) {
                pad = p.get("content").asText();
            } else if (!p.isMissingNode() && !p.isNull()) {
                throw new IOException(config + ": pad_token must be a string or an object with 'content'");
            }
            int max = c.path("model_max_length").asInt(MAX_LENGTH);
            if (max != MAX_LENGTH) {
                throw new IOException(config + ": model_max_length " + max + " is not CLIP's " + MAX_LENGTH);
            }
        }
        return load(folder.resolve("vocab.json"), folder.resolve("merges.txt"), pad);
    }

    /** Reads {@code vocab.json} and {@code merges.txt} (its first line, "#version: ...", is skipped). */
    public static ClipTokenizer load(Path vocabFile, Path mergesFile, String padToken) throws IOException {
        for (Path f : new Path[] {vocabFile, mergesFile}) {
            if (!Files.isRegularFile(f)) {
                throw new IOException(f + ": missing (a CLIP tokenizer needs vocab.json and merges.txt)");
            }
        }
        JsonNode v = Json.readFile(vocabFile);
        if (!v.isObject()) {
            throw new IOException(vocabFile + ": expected a JSON object of token to id");
        }
        Map<String, Integer> vocab = new HashMap<>();
        for (var it = v.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0) {
                throw new IOException(vocabFile + ": the id of '" + e.getKey() + "' is not a non-negative integer");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        List<String> lines = Files.readAllLines(mergesFile, StandardCharsets.UTF_8);
        List<String> merges = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if ((i == 0 && line.startsWith("#version")) || line.isEmpty()) {
                continue;
            }
            merges.add(line);
        }
        try {
            return new ClipTokenizer(vocab, merges, padToken);
        } catch (IllegalArgumentException e) {
            throw new IOException(vocabFile.getParent() + ": " + e.getMessage(), e);
        }
    }

    public int startId() {
        return bos;
    }

    public int endId() {
        return eos;
    }

    public int padId() {
        return pad;
    }

    public String padToken() {
        return padToken;
    }

    public int vocabSize() {
        return vocab.size();
    }

    /** The tokens by id: {@code vocab.json} inverted (ids must run 0..n-1 without gaps). */
    public List<String> tokensById() {
        String[] out = new String[vocab.size()];
        vocab.forEach((token, id) -> {
            if (id >= out.length || out[id] != null) {
                throw new IllegalStateException("vocabulary ids are not 0.." + (out.length - 1) + " without repeats");
            }
            out[id] = token;
        });
        return List.of(out);
    }

    /** The merge rules in rank order, each "a b". */
    public List<String> merges() {
        return merges;
    }

    /**
     * Writes a transformers {@code tokenizer/} folder that {@link #load(Path)} (and transformers' CLIPTokenizer) reads:
     * {@code vocab.json}, {@code merges.txt}, {@code tokenizer_config.json} and {@code special_tokens_map.json}.
     */
    public void save(Path folder) throws IOException {
        Files.createDirectories(folder);
        ObjectNode v = Json.MAPPER.createObjectNode();
        List<String> tokens = tokensById();
        for (int i = 0; i < tokens.size(); i++) {
            v.put(tokens.get(i), i);
        }
        Files.write(folder.resolve("vocab.json"), Json.MAPPER.writeValueAsBytes(v));
        Files.writeString(folder.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", merges)
                + (merges.isEmpty() ? "" : "\n"), StandardCharsets.UTF_8);
        ObjectNode special = Json.MAPPER.createObjectNode()
                .put("bos_token", START).put("eos_token", END).put("unk_token", END).put("pad_token", padToken);
        Files.write(folder.resolve("special_tokens_map.json"), Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(special));
        ObjectNode config = special.deepCopy()
                .put("tokenizer_class", "CLIPTokenizer").put("model_max_length", MAX_LENGTH)
                .put("do_lower_case", true).put("errors", "replace").put("add_prefix_space", false)
                .put("clean_up_tokenization_spaces", true);
        Files.write(folder.resolve("tokenizer_config.json"), Json.MAPPER.writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(config));
    }

    /**
     * The pre-tokens of {@code text} after CLIP's cleaning, each as BPE's initial symbols: one character per UTF-8
     * byte (GPT-2's table), the last one marked with "</w>". What {@link BpeLearner} counts.
     */
    static List<List<String>> initialSymbols(String text) {
        List<List<String>> out = new ArrayList<>();
        Matcher m = PRE_TOKEN.matcher(basicClean(text));
        while (m.find()) {
            out.add(symbols(m.group()));
        }
        return out;
    }

    private static List<String> symbols(String preToken) {
        List<String> word = new ArrayList<>();
        for (byte b : preToken.getBytes(StandardCharsets.UTF_8)) {
            word.add(BYTE_CHARS[b & 0xff]);
        }
        word.set(word.size() - 1, word.get(word.size() - 1) + "</w>");
        return word;
    }

    /** {@code word} with every occurrence of the pair (a, b) merged, left to right. */
    static List<String> mergePair(List<String> word, String a, String b) {
        List<String> out = new ArrayList<>(word.size());
        for (int i = 0; i < word.size(); i++) {
            if (i + 1 < word.size() && word.get(i).equals(a) && word.get(i + 1).equals(b)) {
                out.add(a + b);
                i++;
            } else {
                out.add(word.get(i));
            }
        }
        return out;
    }

    /** GPT-2's byte characters, by byte value. */
    static List<String> byteChars() {
        return List.of(BYTE_CHARS);
    }

    /** The BPE tokens of {@code text}, without the start and end tokens (transformers' {@code tokenize}). */
    public List<String> tokenize(String text) {
        List<String> out = new ArrayList<>();
        for (String piece : splitSpecials(text)) {
            if (specials.contains(piece)) {
                out.add(piece);
                continue;
            }
            Matcher m = PRE_TOKEN.matcher(basicClean(piece));
            while (m.find()) {
                out.addAll(bpe(m.group()));
            }
        }
        return out;
    }

    /** Start token, the ids of {@code text}, end token: neither truncated nor padded. */
    public int[] encode(String text) {
        List<String> tokens = tokenize(text);
        int[] ids = new int[tokens.size() + 2];
        ids[0] = bos;
        for (int i = 0; i < tokens.size(); i++) {
            // An unknown token reads as the unknown token, which CLIP's is the end token.
            ids[i + 1] = vocab.getOrDefault(tokens.get(i), eos);
        }
        ids[ids.length - 1] = eos;
        return ids;
    }

    /**
     * What a Stable Diffusion pipeline feeds its text encoder: 77 ids, cut to the start token, the first 75 ids and
     * the end token when longer, padded with the pad token.
     *
     * @param ids           the 77 ids
     * @param attentionMask 1 for the start token to the end token, 0 for padding
     * @param truncated     whether the prompt was cut
     */
    public record Encoding(int[] ids, int[] attentionMask, boolean truncated) {}

    /** {@link #encode} cut and padded to {@link #MAX_LENGTH}. */
    public Encoding encodePadded(String text) {
        int[] full = encode(text);
        boolean cut = full.length > MAX_LENGTH;
        int[] ids = new int[MAX_LENGTH];
        int[] mask = new int[MAX_LENGTH];
        Arrays.fill(ids, pad);
        int kept = Math.min(full.length, MAX_LENGTH);
        System.arraycopy(full, 0, ids, 0, kept);
        if (cut) {
            ids[MAX_LENGTH - 1] = eos;
        }
        Arrays.fill(mask, 0, kept, 1);
        return new Encoding(ids, mask, cut);
    }

    /** Pieces of {@code text} with each special token's exact occurrences as pieces of their own. */
    private List<String> splitSpecials(String text) {
        List<String> out = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            int at = -1;
            String hit = null;
            for (String s : specials) {
                int i = text.indexOf(s, from);
                // Earliest first; of two at one place, the longer.
                if (i >= 0 && (at < 0 || i < at || (i == at && s.length() > hit.length()))) {
                    at = i;
                    hit = s;
                }
            }
            if (hit == null) {
                out.add(text.substring(from));
                break;
            }
            if (at > from) {
                out.add(text.substring(from, at));
            }
            out.add(hit);
            from = at + hit.length();
        }
        return out;
    }

    /**
     * BERT's BasicTokenizer as CLIP configures it (lower case, accents kept, no split on punctuation): the words
     * joined by single spaces.
     */
    static String basicClean(String text) {
        StringBuilder cleaned = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return;
            }
            if (isBertWhitespace(cp)) {
                cleaned.append(' ');
            } else if (isCjk(cp)) {
                cleaned.append(' ').appendCodePoint(cp).append(' ');
            } else {
                cleaned.appendCodePoint(cp);
            }
        });
        String nfc = Normalizer.normalize(cleaned, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(nfc.length());
        for (String word : splitPythonWhitespace(nfc)) {
            if (out.length() > 0) {
                out.append(' ');
            }
            out.append(word.toLowerCase(Locale.ROOT));
        }
        return out.toString();
    }

    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            return false;
        }
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.PRIVATE_USE
                || type == Character.SURROGATE || type == Character.UNASSIGNED;
    }

    private static boolean isBertWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    /** The CJK ideograph blocks BERT spaces out. */
    private static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** Python's {@code str.split()}: runs of whitespace (bidirectional WS, B, S, or a space separator) separate. */
    private static List<String> splitPythonWhitespace(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        s.codePoints().forEach(cp -> {
            byte dir = Character.getDirectionality(cp);
            boolean space = dir == Character.DIRECTIONALITY_WHITESPACE
                    || dir == Character.DIRECTIONALITY_PARAGRAPH_SEPARATOR
                    || dir == Character.DIRECTIONALITY_SEGMENT_SEPARATOR
                    || Character.getType(cp) == Character.SPACE_SEPARATOR;
            if (space) {
                if (w.length() > 0) {
                    words.add(w.toString());
                    w.setLength(0);
                }
            } else {
                w.appendCodePoint(cp);
            }
        });
        if (w.length() > 0) {
            words.add(w.toString());
        }
        return words;
    }

    /** The BPE tokens of one pre-token. */
    private List<String> bpe(String preToken) {
        if (preToken.equals(START) || preToken.equals(END)) {
            return List.of(preToken);
        }
        return cache.computeIfAbsent(preToken, this::merge);
    }

    private List<String> merge(String preToken) {
        List<String> word = symbols(preToken);
        while (word.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer rank = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            word = mergePair(word, word.get(best), word.get(best + 1));
        }
        return List.copyOf(word);
    }

    /** GPT-2's byte-to-character table: printable bytes stand for themselves, the others from U+0100 on. */
    private static String[] byteTable() {
        String[] out = new String[256];
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            out[b] = new String(Character.toChars(printable[b] ? b : next++));
        }
        return out;
    }
}
