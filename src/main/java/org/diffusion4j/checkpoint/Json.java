package org.diffusion4j.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.CharConversionException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * The one JSON configuration for sidecars and configs: snake_case names (as diffusers' config.json), enums by their
 * diffusers names, and strict reading (duplicate keys, unknown or missing fields and trailing data are errors;
 * an explicit null is passed to the record, whose constructor decides whether it is allowed).
 */
public final class Json {
    /** Strict mapper; thread-safe once configured. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // Python's json writes (and reads) NaN and Infinity bare: diffusers' DPM-Solver configs hold -Infinity.
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS.mappedFeature())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .enable(DeserializationFeature.READ_ENUMS_USING_TO_STRING)
            .enable(SerializationFeature.WRITE_ENUMS_USING_TO_STRING)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private Json() {}

    /** A config record as a JSON tree. */
    public static JsonNode toTree(Object value) {
        return MAPPER.valueToTree(value);
    }

    /**
     * A config record from a JSON tree, with the record's own validation.
     *
     * @param what names the source in errors, e.g. "model.json: train"
     */
    public static <T> T fromTree(JsonNode node, Class<T> type, String what) {
        try {
            return MAPPER.treeToValue(node, type);
        } catch (Exception e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            String msg = root instanceof IllegalArgumentException ? root.getMessage()
                    : e instanceof JsonMappingException m ? describe(m)
                    : e.getMessage().lines().findFirst().orElse(e.toString());
            throw new IllegalArgumentException(what + ": " + msg, e);
        }
    }

    /** Jackson's complaint in the config's own terms: keys and JSON types, not Java classes. */
    static String describe(JsonMappingException e) {
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                path.append(path.length() == 0 ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                path.append('[').append(r.getIndex()).append(']');
            }
        }
        String key = path.length() == 0 ? "the config" : "'" + path + "'";
        if (e instanceof UnrecognizedPropertyException u) {
            TreeSet<String> known = new TreeSet<>();
            if (u.getKnownPropertyIds() != null) {
                u.getKnownPropertyIds().forEach(id -> known.add(String.valueOf(id)));
            }
            return "unknown key '" + u.getPropertyName() + "'" + (known.isEmpty() ? "" : " (known: "
                    + String.join(", ", known) + ")");
        }
        if (e instanceof InvalidFormatException f) {
            Object v = f.getValue();
            return key + ": " + (v instanceof String s ? TextNode.valueOf(s)
                    : String.valueOf(v)) + " is not " + kind(f.getTargetType());
        }
        if (e instanceof MismatchedInputException m) {
            String original = String.valueOf(m.getOriginalMessage());
            if (original.startsWith("Missing creator property")) {
                int q = original.indexOf('\'');
                return "missing key '" + original.substring(q + 1, original.indexOf('\'', q + 1)) + "'";
            }
            return key + ": expected " + kind(m.getTargetType());
        }
        if (e.getCause() instanceof InputCoercionException c) {
            return key + ": " + c.getOriginalMessage();
        }
        return String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("invalid value");
    }

    /** A Java target type as the JSON a user should write. */
    private static String kind(Class<?> type) {
        if (type == null) {
            return "a valid value";
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
            return "an integer";
        }
        if (type == double.class || type == Double.class || type == float.class || type == Float.class) {
            return "a number";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        if (type == String.class) {
            return "a string";
        }
        if (type.isEnum()) {
            List<String> names = new ArrayList<>();
            for (Object c : type.getEnumConstants()) {
                names.add(c.toString());
            }
            return "one of " + names;
        }
        if (Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "an array";
        }
        return "an object";
    }

    /**
     * Parses a JSON file strictly (duplicate keys are errors).
     *
     * @throws IOException naming the file, and for malformed JSON the line, column and what was wrong
     */
    public static JsonNode readFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, Files.isDirectory(file)
                    ? "is a directory, not a JSON file" : Files.exists(file) ? "not a regular file"
                    : "no such file");
        }
        byte[] bytes = Files.readAllBytes(file);
        try {
            JsonNode node = MAPPER.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new IOException(file + ": empty, expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw new IOException(file + ": not valid JSON" + (at == null ? "" : " (line " + at.getLineNr()
                    + ", column " + at.getColumnNr() + ")") + ": " + e.getOriginalMessage(), e);
        } catch (CharConversionException e) {
            throw new IOException(file + ": not valid JSON (not UTF-8 text): " + e.getMessage(), e);
        }
    }
}
