package org.diffusion4j.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.diffusion4j.model.Parameterization;
import org.diffusion4j.model.mlp.MlpConfig;
import org.diffusion4j.schedule.BetaSchedule;
import org.diffusion4j.schedule.ScheduleConfig;
import org.diffusion4j.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonTest {
    @Test
    void configsRoundTripWithDiffusersNames() {
        TrainConfig t = TrainConfig.toyDefaults().withSeed(9);
        JsonNode n = Json.toTree(t);
        assertThat(n.get("prediction").asText()).isEqualTo("epsilon");
        assertThat(n.has("learning_rate")).isTrue();
        assertThat(Json.fromTree(n, TrainConfig.class, "x")).isEqualTo(t);
        ScheduleConfig s = new ScheduleConfig(500, BetaSchedule.SQUAREDCOS_CAP_V2, 1e-4, 0.02, true);
        assertThat(Json.toTree(s).get("beta_schedule").asText()).isEqualTo("squaredcos_cap_v2");
        assertThat(Json.fromTree(Json.toTree(s), ScheduleConfig.class, "x")).isEqualTo(s);
    }

    @Test
    void strictReadingNamesTheSourceAndProblem() throws Exception {
        JsonNode ok = Json.toTree(TrainConfig.toyDefaults());
        JsonNode unknown = ((ObjectNode) ok.deepCopy()).put("lr_typo", 1);
        assertThatThrownBy(() -> Json.fromTree(unknown, TrainConfig.class, "m.json: train"))
                .hasMessageStartingWith("m.json: train:").hasMessageContaining("lr_typo");
        JsonNode missing = ((ObjectNode) ok.deepCopy()).without("seed");
        assertThatThrownBy(() -> Json.fromTree(missing, TrainConfig.class, "m.json: train")).hasMessageContaining("seed");
        JsonNode invalid = ((ObjectNode) ok.deepCopy()).put("batch_size", 0);
        assertThatThrownBy(() -> Json.fromTree(invalid, TrainConfig.class, "m.json: train"))
                .hasMessage("m.json: train: batch size must be >= 1, got 0");
        assertThatThrownBy(() -> Json.MAPPER.readTree("{\"a\":1,\"a\":2}")).hasMessageContaining("Duplicate field 'a'");
        assertThat(Parameterization.V.toString()).isEqualTo("v_prediction");
    }

    /** Python's json writes infinities bare (diffusers' DPM-Solver configs); a record still refuses what it must. */
    @Test
    void readsBareInfinitiesAsPythonWritesThemAndRecordsStillJudgeThem(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("scheduler_config.json"), "{\"lambda_min_clipped\": -Infinity, "
                + "\"x\": NaN}");
        JsonNode n = Json.readFile(f);
        assertThat(n.get("lambda_min_clipped").asDouble()).isEqualTo(Double.NEGATIVE_INFINITY);
        assertThat(n.get("x").asDouble()).isNaN();
        JsonNode eps = ((ObjectNode) Json.toTree(new MlpConfig(2, 8, 1, 4))).put("hidden", Double.NaN);
        assertThatThrownBy(() -> Json.fromTree(eps, MlpConfig.class, "model.json")).hasMessageContaining("hidden");
    }

    @Test
    void readFileNamesTheFileAndWhereTheJsonBreaks(@TempDir Path dir)
            throws Exception {
        Path cut = Files.writeString(dir.resolve("config.json"), "{\"a\": 1,\n  \"b\": ");
        assertThatThrownBy(() -> Json.readFile(cut)).isInstanceOf(IOException.class)
                .hasMessageStartingWith(cut + ": not valid JSON (line 2, column")
                .hasMessageContaining("end-of-input");
        Path twice = Files.writeString(dir.resolve("twice.json"), "{\"a\": 1, \"a\": 2}");
        assertThatThrownBy(() -> Json.readFile(twice)).hasMessageContaining(twice + ": not valid JSON (line 1")
                .hasMessageContaining("Duplicate field 'a'");
        Path empty = Files.writeString(dir.resolve("empty.json"), "");
        assertThatThrownBy(() -> Json.readFile(empty)).hasMessage(empty + ": empty, expected a JSON object");
        assertThatThrownBy(() -> Json.readFile(dir)).hasMessage(dir + ": is a directory, not a JSON file");
        assertThatThrownBy(() -> Json.readFile(dir.resolve("none.json")))
                .hasMessage(dir.resolve("none.json") + ": no such file");
        // Zero bytes first make the parser guess UTF-32, and its decoding error is not a JsonProcessingException.
        byte[] utf32ish = new byte[72];
        System.arraycopy("{\n  \"a\"".getBytes(StandardCharsets.US_ASCII), 0, utf32ish, 65, 7);
        Path odd = Files.write(dir.resolve("odd.json"), utf32ish);
        assertThatThrownBy(() -> Json.readFile(odd)).hasMessageStartingWith(odd + ": not valid JSON");
        assertThat(Json.readFile(Files.writeString(dir.resolve("ok.json"), "{\"a\": [1]}"))
                .get("a").get(0).asInt()).isEqualTo(1);
    }

    /** Config errors speak of keys and JSON types; Java class names mean nothing to the person editing the file. */
    @Test
    void configErrorsNameKeysAndJsonTypesNotJavaClasses() throws Exception {
        String base = "\"data_dim\":2,\"depth\":1,\"time_embed_dim\":4,\"num_class_embeds\":null";
        String[][] cases = {
            {"{" + base + ",\"hidden\":\"abc\"}", "m.json: model_config: 'hidden': \"abc\" is not an integer"},
            {"{" + base + ",\"hidden\":1.5}", "m.json: model_config: 'hidden': 1.5 is not an integer"},
            {"{" + base + ",\"hidden\":[1]}", "m.json: model_config: 'hidden': expected an integer"},
            {"{" + base + ",\"hidden\":8,\"foo\":1}", "m.json: model_config: unknown key 'foo' (known: data_dim, "
                    + "depth, hidden, num_class_embeds, time_embed_dim)"},
            {"{" + base + "}", "m.json: model_config: missing key 'hidden'"},
            {"[1, 2]", "m.json: model_config: the config: expected an object"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> Json.fromTree(Json.MAPPER.readTree(c[0]), MlpConfig.class,
                    "m.json: model_config")).as(c[0]).hasMessage(c[1]);
        }
        assertThatThrownBy(() -> Json.fromTree(Json.MAPPER.readTree("{\"beta_schedule\":\"nope\"}"),
                ScheduleConfig.class, "m.json: schedule")).hasMessage("m.json: schedule: 'beta_schedule': \"nope\" is "
                + "not one of [linear, scaled_linear, squaredcos_cap_v2, sigmoid]");
    }
}
