package org.diffusion4j.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The captions of a labelled dataset, per class: what a text-conditioned model is trained to follow. Either made from
 * the class names through a few templates ({@link #templates}) or read from a file ({@link #read}).
 *
 * @param perClass captions of class k at index k; every class has at least one
 */
public record Captions(List<List<String>> perClass) {
    /** MNIST's digits as words and numerals. */
    private static final List<String> DIGITS = List.of("zero", "one", "two", "three", "four", "five", "six", "seven",
            "eight", "nine");
    /** Fashion-MNIST's classes, named as its paper does. */
    private static final List<String> FASHION = List.of("t-shirt", "trouser", "pullover", "dress", "coat", "sandal",
            "shirt", "sneaker", "bag", "ankle boot");
    /** Longest caption accepted, in characters (CLIP's 77 tokens are far fewer). */
    static final int MAX_CHARS = 1000;

    public Captions {
        if (perClass == null || perClass.isEmpty()) {
            throw new IllegalArgumentException("captions must cover at least one class");
        }
        List<List<String>> copy = new ArrayList<>();
        for (int k = 0; k < perClass.size(); k++) {
            List<String> c = perClass.get(k);
            if (c == null || c.isEmpty()) {
                throw new IllegalArgumentException("class " + k + " has no caption");
            }
            for (String s : c) {
                if (s == null || s.isBlank() || s.length() > MAX_CHARS) {
                    throw new IllegalArgumentException("class " + k + ": a caption must be non-blank and at most "
                            + MAX_CHARS + " characters");
                }
            }
            copy.add(List.copyOf(c));
        }
        perClass = List.copyOf(copy);
    }

    public int numClasses() {
        return perClass.size();
    }

    /** Every caption, class by class. */
    public List<String> all() {
        return perClass.stream().flatMap(List::stream).toList();
    }

    /**
     * Captions from the class names of a built-in labelled set: "the digit seven", "a handwritten 7", ... for MNIST,
     * "a photo of a sneaker", "a black and white picture of an ankle boot", ... for Fashion-MNIST.
     *
     * @param dataset mnist or fashion-mnist (a latents file's source set counts as that set)
     */
    public static Captions templates(String dataset) {
        List<List<String>> out = new ArrayList<>();
        switch (dataset) {
            case "mnist" -> {
                for (int k = 0; k < 10; k++) {
                    String w = DIGITS.get(k);
                    out.add(List.of("the digit " + w, "a handwritten " + w, "the number " + k, "a handwritten " + k,
                            w, "a black and white picture of the digit " + w));
                }
            }
            case "fashion-mnist" -> {
                for (String w : FASHION) {
                    String a = "aeiou".indexOf(w.charAt(0)) >= 0 ? "an " : "a ";
                    out.add(List.of("a photo of " + a + w, "a black and white picture of " + a + w, a + w, w,
                            "a small grey photo of " + a + w));
                }
            }
            default -> throw new IllegalArgumentException("--captions templates: no class names for '" + dataset
                    + "' (built in for mnist and fashion-mnist; give a captions file)");
        }
        return new Captions(out);
    }

    /**
     * Reads a captions file: one caption per line as {@code CLASS<TAB>caption} (or CLASS, a space, the caption), the
     * class a label index; blank lines and lines starting with # are skipped. Every class in [0, numClasses) needs
     * at least one caption.
     *
     * @throws IOException naming the file and line of the first problem
     */
    public static Captions read(Path file, int numClasses) throws IOException {
        if (numClasses < 1) {
            throw new IOException(file + ": captions need labelled data, and the data has no classes");
        }
        List<List<String>> out = new ArrayList<>();
        for (int k = 0; k < numClasses; k++) {
            out.add(new ArrayList<>());
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int cut = 0;
            while (cut < line.length() && !Character.isWhitespace(line.charAt(cut))) {
                cut++;
            }
            String where = String.format(Locale.ROOT, "%s:%d: ", file, i + 1);
            int k;
            try {
                k = Integer.parseInt(line.substring(0, cut));
            } catch (NumberFormatException e) {
                throw new IOException(where + "expected a class index, whitespace and a caption, got '" + line + "'");
            }
            String caption = line.substring(cut).strip();
            if (k < 0 || k >= numClasses) {
                throw new IOException(where + "class " + k + " is outside [0, " + (numClasses - 1) + "]");
            }
            if (caption.isEmpty() || caption.length() > MAX_CHARS) {
                throw new IOException(where + "the caption must be non-empty and at most " + MAX_CHARS
                        + " characters");
            }
            out.get(k).add(caption);
        }
        for (int k = 0; k < numClasses; k++) {
            if (out.get(k).isEmpty()) {
                throw new IOException(file + ": class " + k + " has no caption (every class needs one)");
            }
        }
        return new Captions(out);
    }
}
