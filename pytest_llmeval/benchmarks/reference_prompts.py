"""The `evalscope` protocol's prompt text: the templates EvalScope 1.14.1 sends, as data.

These strings must stay byte-for-byte those of the reference system (that is their point):
`tests/benchmarks/test_protocols.py` compares the messages built from them with request bodies
recorded from EvalScope 1.14.1 (`tools/record_evalscope_prompts.py`). Which benchmark uses which
is declared on the benchmark (`protocols = {...}`); docs/benchmarks.md shows them side by side with
the `native` prompts.
"""

from __future__ import annotations

from .protocols import Protocol

SOURCE = "EvalScope 1.14.1"

# -- multiple choice (options as `A) text`, letters as `A,B,C,D`) ------------------------------

MC_FEW_SHOT = "Here are some examples of how to answer similar questions:\n\n{fewshot}\n\n"
MC_SINGLE = (
    "Answer the following multiple choice question. The entire content of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}.\n\n"
    "{question}\n\n{choices}"
)
MC_SINGLE_COT = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. Think step "
    "by step before answering.\n\n{question}\n\n{choices}"
)
MC_MULTIPLE = (
    "Answer the following multiple choice question where multiple answers may be correct. The entire "
    "content of your response should be of the following format: 'ANSWER: [LETTERS]' (without quotes) "
    "where [LETTERS] is one or more of {letters}.\n\n{question}\n\n{choices}"
)
MC_EXAMPLE = "{question}\n{choices}\nANSWER: {answer}"

ZH_FEW_SHOT = "以下是一些示例问题：\n\n{fewshot}\n\n"
ZH_SINGLE_COT = (
    '回答下面的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式："答案：[LETTER]"（不带引号），'
    "其中 [LETTER] 是 {letters} 中的一个。请在回答前进行一步步思考。\n\n问题：{question}\n选项：\n{choices}\n"
)


def mc_protocol(template: str, *, few_shot_num: int = 0, **kwargs: object) -> Protocol:
    """An EvalScope multiple-choice protocol: `template`, its generic few-shot block and example."""
    return Protocol(
        name="evalscope",
        template=template,
        source=SOURCE,
        few_shot_num=few_shot_num,
        few_shot_template=MC_FEW_SHOT + template,
        example_template=MC_EXAMPLE,
        **kwargs,  # type: ignore[arg-type]
    )


def zh_protocol(**kwargs: object) -> Protocol:
    """EvalScope's Chinese single-answer chain-of-thought protocol (CMMLU, IQuiz)."""
    return Protocol(
        name="evalscope",
        template=ZH_SINGLE_COT,
        source=SOURCE,
        few_shot_template=ZH_FEW_SHOT + ZH_SINGLE_COT,
        example_template="问题：{question}\n选项：\n{choices}\n答案：{answer}",
        **kwargs,  # type: ignore[arg-type]
    )


# -- math ---------------------------------------------------------------------------------------

BOXED_SUFFIX = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
MATH_FEW_SHOT = "Here are some examples of how to solve similar problems:\n\n{fewshot}\n\n"
GSM8K_EXAMPLE = "{question}\n\nReasoning:\n{reasoning}\n\nANSWER: \\boxed{{{answer}}}"
AIME = (
    "\nSolve the following math problem step by step. Put your answer inside \\boxed{{}}.\n\n{question}\n\n"
    "Remember to put your answer inside \\boxed{{}}."
)
COMPETITION_MATH = "Problem:\n{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}.\n"

# -- code -----------------------------------------------------------------------------------------

HUMANEVAL = (
    "Read the following function signature and docstring, and fully implement the function described. "
    "Your response should only contain the code for this function.\n{question}"
)

# -- MMLU-Pro: a subject-specific examples block, then the question with `Question:`/`Options:` ---

MMLU_PRO_USER = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. Think step "
    "by step before answering.\n\nQuestion:\n{question}\nOptions:\n{choices}\n"
)
MMLU_PRO_EXAMPLES = (
    "The following are multiple choice questions (with answers) about {subject}. Think step by step and then "
    "finish your answer with 'ANSWER: [LETTER]' (without quotes) where [LETTER] is the correct letter "
    "choice.\n\n{fewshot}\n"
)
MMLU_PRO_EXAMPLE = "Question:\n{question}\nOptions:\n{choices}\n{cot}"

# -- C-Eval and CMMLU (Chinese) ---------------------------------------------------------------------

CEVAL_USER = (
    '以下是中国关于{subject}的单项选择题，请选出其中的正确答案。你的回答的最后一行应该是这样的格式："答案：[LETTER]"'
    "（不带引号），其中 [LETTER] 是 A、B、C、D 中的一个。\n\n问题：{question}\n选项：\n{choices}\n"
)
CEVAL_EXAMPLE = "问题：{question}\n选项：\n{choices}\n解析：{explanation}\n答案：{answer}"


def mmlu_pro_cot(cot: str) -> str:
    """A validation row's worked solution as the reference system shows it in an example:
    "The answer is (B)." becomes "ANSWER: B."."""
    text = cot.replace("The answer is", "ANSWER:")
    letter = text.split("ANSWER:")[-1].split(".")[0].strip().strip("(").strip(")")
    return text.replace(f"ANSWER: ({letter})", f"ANSWER: {letter}")


# -- TruthfulQA: six QA pairs before the question, options shuffled per question (seed 42) -------

TRUTHFULQA_QA = (
    "Q: What is human life expectancy in the United States?\n"
    "A: Human life expectancy in the United States is 78 years.\n\n"
    "Q: Who was president of the United States in 1955?\n"
    "A: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
    "Q: Which party did he belong to?\n"
    "A: He belonged to the Republican Party.\n\n"
    "Q: What is the square root of banana?\n"
    "A: I have no comment.\n\n"
    "Q: How does a telescope work?\n"
    "A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
    "Q: Where were the 1992 Olympics held?\n"
    "A: The 1992 Olympics were held in Barcelona, Spain.\n\nQ: {question}\nA:"
)
REFERENCE_SEED = 42  # the reference system's default run seed, which seeds its option shuffles

# -- LiveCodeBench: a system prompt, then the problem and a format block -----------------------------

LCB_SYSTEM = (
    "You are an expert Python programmer. You will be given a question (problem specification) and will "
    "generate a correct Python program that matches the specification and passes all tests. You will NOT "
    "return anything except for the program."
)
LCB_USER = "### Question:\n{question}\n\n{format_block} ### Answer: (use the provided format with backticks)\n\n"
LCB_FORMAT_STARTER = (
    "### Format: You will use the following starter code to write the solution to the problem and enclose "
    "your code within delimiters.\n```python\n{starter}\n```\n\n"
)
LCB_FORMAT_STDIN = (
    "### Format: Read the inputs from stdin solve the problem and write the answer to stdout (do not directly "
    "test on the sample inputs). Enclose your code within delimiters as follows.\n```python\n# YOUR CODE HERE\n"
    "```\n\n"
)

# -- multimodal: the text parts (images and audio are separate content parts) ------------------------

# MathVista: the text part comes first, then the image; multiple choice is MC_SINGLE_COT over the raw question
MATH_VISTA_OPEN = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}} without units."
# MMMU-Pro `vision`: the question and options are inside the image, which follows this text
MMMU_PRO_VISION = (
    "Answer the following multiple choice question in image. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. Think step by step "
    "before answering."
)
# OmniBench: this text, then the image, then the audio (or their descriptions as two more text parts)
OMNI_BENCH = (
    "Answer the following multiple choice question based on the image and audio content. The last line of your "
    "response should be of the following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of "
    "{letters}. Think step by step before answering.\n\n{question}\n\n{choices}"
)
OMNI_IMAGE_TEXT = "[Image Alternative Text]: {text}"
OMNI_AUDIO_TEXT = "[Audio Alternative Text]: {text}"
