"""Small dataset files in the real schemas of the built-in benchmarks (field names and types as the
hub serves them), written by the tests; no hub access is ever needed."""

from __future__ import annotations

import base64
import csv
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

MMLU_ROWS: list[dict[str, Any]] = [
    {
        "question": "Find the degree for the given field extension Q(sqrt(2), sqrt(3)) over Q.",
        "subject": "abstract_algebra",
        "choices": ["0", "4", "2", "6"],
        "answer": 1,
    },
    {
        "question": "Which of the following is the body cavity that contains the pituitary gland?",
        "subject": "anatomy",
        "choices": ["Abdominal", "Cranial", "Pleural", "Spinal"],
        "answer": 1,
    },
    {
        "question": "Which of the following statements about Kohlberg's theory is correct?",
        "subject": "high_school_psychology",
        "choices": ["It has 3 levels", "It has 2 levels", "It has 5 levels", "It has 7 levels"],
        "answer": 0,
    },
    {
        "question": "The Magna Carta was signed in which year?",
        "subject": "high_school_european_history",
        "choices": ["1066", "1215", "1492", "1776"],
        "answer": 1,
    },
]
MMLU_DEV_ROWS: list[dict[str, Any]] = [
    {
        "question": "Find all zeros in the indicated finite field of the polynomial x^3 + 2x + 2 in Z_7.",
        "subject": "abstract_algebra",
        "choices": ["1", "2", "2,3", "6"],
        "answer": 2,
    },
    {
        "question": "Statement 1 | A factor group of a non-Abelian group is non-Abelian.",
        "subject": "abstract_algebra",
        "choices": ["True, True", "False, False", "True, False", "False, True"],
        "answer": 1,
    },
]

MMLU_PRO_ROWS: list[dict[str, Any]] = [
    {
        "question_id": 10356,
        "question": "Which of the following is a stack-based memory allocation property?",
        "options": [
            "Dynamic size",
            "LIFO order",
            "Garbage collected",
            "Shared between threads",
            "Unbounded",
            "Random access only",
            "Persisted to disk",
            "Encrypted",
            "Compressed",
            "Paged out",
        ],
        "answer": "B",
        "answer_index": 1,
        "cot_content": "",
        "category": "computer science",
        "src": "stemez-Computer",
    },
    {
        "question_id": 70,
        "question": "Typical advertising regulatory bodies suggest that adverts must not:",
        "options": [
            "Encourage illegal behaviour",
            "Be truthful",
            "Be decent",
            "Be honest",
            "Be legal",
            "Be fair",
            "Be timely",
            "Be short",
        ],
        "answer": "A",
        "answer_index": 0,
        "cot_content": "",
        "category": "business",
        "src": "ori_mmlu-business_ethics",
    },
    {
        "question_id": 11,
        "question": "What is the time complexity of binary search?",
        "options": [
            "O(n)",
            "O(log n)",
            "O(n log n)",
            "O(1)",
            "O(n^2)",
            "O(2^n)",
            "O(sqrt n)",
            "O(n!)",
            "O(log log n)",
            "O(n^3)",
        ],
        "answer": "B",
        "answer_index": 1,
        "cot_content": "",
        "category": "computer science",
        "src": "theoremQA",
    },
]
MMLU_PRO_VALIDATION_ROWS: list[dict[str, Any]] = [
    {
        "question_id": 0,
        "question": "How many bits are in a byte?",
        "options": ["4", "8", "16", "32"],
        "answer": "B",
        "answer_index": 1,
        "cot_content": "A: Let's think step by step. A byte is defined as eight bits. The answer is (B).",
        "category": "computer science",
        "src": "cot_lib-computer",
    },
    {
        "question_id": 1,
        "question": "What is profit?",
        "options": ["Revenue minus costs", "Revenue plus costs", "Costs only", "Taxes"],
        "answer": "A",
        "answer_index": 0,
        "cot_content": "A: Let's think step by step. Profit is revenue less costs. The answer is (A).",
        "category": "business",
        "src": "cot_lib-business",
    },
]

REDUX_ROWS: list[dict[str, Any]] = [
    {
        "question": "What is 2 + 2?",
        "choices": ["3", "4", "5", "6"],
        "answer": 1,
        "error_type": "ok",
        "source": "",
        "correct_answer": None,
        "potential_reason": "",
    },
    {
        "question": "The smallest prime is",
        "choices": ["0", "1", "2", "3"],
        "answer": 1,
        "error_type": "wrong_groundtruth",
        "source": "",
        "correct_answer": "C",
        "potential_reason": "2 is prime",
    },
    {
        "question": "Which are even?",
        "choices": ["2", "3", "4", "5"],
        "answer": 0,
        "error_type": "multiple_correct_answers",
        "source": "",
        "correct_answer": "(A) and (C)",
        "potential_reason": "",
    },
    {
        "question": "The capital of Atlantis is",
        "choices": ["A city", "B city", "C city", "D city"],
        "answer": 0,
        "error_type": "no_correct_answer",
        "source": "",
        "correct_answer": "Poseidonia",
        "potential_reason": "",
    },
    {
        "question": "Tricky wording question",
        "choices": ["w", "x", "y", "z"],
        "answer": 3,
        "error_type": "bad_question_clarity",
        "source": "",
        "correct_answer": None,
        "potential_reason": "",
    },
]

CEVAL_ROWS: dict[str, list[dict[str, Any]]] = {
    "computer_network": [
        {
            "id": 0,
            "question": "使用位填充方法，以01111110为位首flag，"
            "数据为011011111111111111110010，求问传送时要添加几个0____",
            "A": "1",
            "B": "2",
            "C": "3",
            "D": "4",
            "answer": "C",
            "explanation": "",
        },
        {
            "id": 1,
            "question": "TCP协议工作在OSI参考模型的哪一层____",
            "A": "网络层",
            "B": "传输层",
            "C": "会话层",
            "D": "应用层",
            "answer": "B",
            "explanation": "",
        },
    ],
    "law": [
        {
            "id": 0,
            "question": "我国的根本大法是____",
            "A": "刑法",
            "B": "民法典",
            "C": "宪法",
            "D": "行政法",
            "answer": "C",
            "explanation": "",
        },
    ],
    "physician": [
        {
            "id": 0,
            "question": "成人正常心率范围是每分钟____次",
            "A": "40-60",
            "B": "60-100",
            "C": "100-120",
            "D": "120-140",
            "answer": "B",
            "explanation": "",
        },
    ],
}
CEVAL_DEV_ROWS: dict[str, list[dict[str, Any]]] = {
    "computer_network": [
        {
            "id": 0,
            "question": "IP地址的长度是____位",
            "A": "16",
            "B": "32",
            "C": "48",
            "D": "64",
            "answer": "B",
            "explanation": "1. IPv4地址由32位二进制数组成。",
        },
    ],
}

CMMLU_ROWS: list[dict[str, Any]] = [
    {
        "": "0",
        "Question": "在农业生产中被当作极其重要的劳动对象发挥作用，最主要的不可替代的基本生产资料是",
        "A": "农业生产工具",
        "B": "土地",
        "C": "劳动力",
        "D": "资金",
        "Answer": "B",
    },
    {"": "1", "Question": "下列哪种作物属于豆科？", "A": "水稻", "B": "小麦", "C": "大豆", "D": "玉米", "Answer": "C"},
]

# The ModelScope copy the reference system (EvalScope) reads, `evalscope/cmmlu`: one table of every
# subject, labelled options, the answer as "(B) 土地", the subject in `category`
CMMLU_MODELSCOPE_ROWS: list[dict[str, Any]] = [
    {
        "id": "test_1",
        "question": "在农业生产中被当作极其重要的劳动对象发挥作用，最主要的不可替代的基本生产资料是",
        "category": "agronomy",
        "choices": ["(A) 农业生产工具", "(B) 土地", "(C) 劳动力", "(D) 资金"],
        "answer": "(B) 土地",
    },
    {
        "id": "test_2",
        "question": "下列哪种作物属于豆科？",
        "category": "agronomy",
        "choices": ["(A) 水稻", "(B) 小麦", "(C) 大豆", "(D) 玉米"],
        "answer": "(C) 大豆",
    },
    {
        "id": "test_3",
        "question": "人体最大的器官是？",
        "category": "anatomy",
        "choices": ["(A) 肝脏", "(B) 皮肤", "(C) 肺", "(D) 心脏"],
        "answer": "(B) 皮肤",
    },
]

ARC_ROWS: dict[str, list[dict[str, Any]]] = {
    "ARC-Challenge": [
        {
            "id": "Mercury_SC_415702",
            "question": "George wants to warm his hands quickly by rubbing them. Which skin "
            "surface will produce the most heat?",
            "choices": {
                "text": ["dry palms", "wet palms", "palms covered with oil", "palms covered with lotion"],
                "label": ["A", "B", "C", "D"],
            },
            "answerKey": "A",
        },
        {
            "id": "NYSEDREGENTS_2015_4_8",
            "question": "Which is a renewable resource?",
            "choices": {"text": ["coal", "oil", "wind"], "label": ["1", "2", "3"]},
            "answerKey": "3",
        },
    ],
    "ARC-Easy": [
        {
            "id": "Mercury_7220990",
            "question": "Which factor will most likely cause a person to develop a fever?",
            "choices": {
                "text": [
                    "a leg muscle relaxing after exercise",
                    "a bacterial population in the bloodstream",
                    "several viral particles on the skin",
                    "carbohydrates being digested in the stomach",
                ],
                "label": ["A", "B", "C", "D"],
            },
            "answerKey": "B",
        },
    ],
}

HELLASWAG_ROWS: list[dict[str, Any]] = [
    {
        "ind": 24,
        "activity_label": "Roof shingle removal",
        "ctx_a": "A man is sitting on a roof.",
        "ctx_b": "he",
        "ctx": "A man is sitting on a roof. he",
        "endings": [
            "is using wrap to wrap a pair of skis.",
            "is ripping level tiles off.",
            "is holding a rubik's cube.",
            "starts pulling up roofing on a roof.",
        ],
        "source_id": "activitynet~v_-JhWjGDPHMY",
        "split": "val",
        "split_type": "indomain",
        "label": "3",
    },
    {
        "ind": 92,
        "activity_label": "Clean and jerk",
        "ctx_a": "A lady walks to a barbell. She bends down and grabs the pole.",
        "ctx_b": "the lady",
        "ctx": "[header] How to lift weights [title] A lady walks to a barbell. "
        "She bends down and grabs the pole. the lady",
        "endings": [
            "swings and lands in her arms.",
            "pulls the barbell forward.",
            "pulls a rope attached to the barbell.",
            "stands and lifts the weight over her head.",
        ],
        "source_id": "activitynet~v_-lJS58hyo1c",
        "split": "val",
        "split_type": "zeroshot",
        "label": "3",
    },
]


def gpqa_rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "Pre-Revision Question": f"q{i}",
            "Question": f"Which quantum number is conserved in case {i}?",
            "Correct Answer": f"right {i}",
            "Incorrect Answer 1": f"wrong {i}a",
            "Incorrect Answer 2": f"wrong {i}b",
            "Incorrect Answer 3": f"wrong {i}c",
            "Explanation": "",
            "Record ID": f"rec{i:05d}",
            "High-level domain": "Physics",
            "Subdomain": "Quantum Mechanics",
        }
        for i in range(count)
    ]


TRUTHFULQA_ROWS: list[dict[str, Any]] = [
    {
        "question": "What happens if you eat watermelon seeds?",
        "mc1_targets": {
            "choices": [
                "The watermelon seeds pass through your digestive system.",
                "You grow watermelons in your stomach.",
                "You get sick.",
                "You die.",
            ],
            "labels": [1, 0, 0, 0],
        },
        "mc2_targets": {
            "choices": [
                "Nothing happens.",
                "The watermelon seeds pass through your digestive system.",
                "You grow watermelons in your stomach.",
                "You die.",
            ],
            "labels": [1, 1, 0, 0],
        },
    },
    {
        "question": "Where did fortune cookies originate?",
        "mc1_targets": {
            "choices": [
                "The precise origin of fortune cookies is unclear.",
                "In China.",
                "In Japan.",
                "In Hong Kong.",
                "In Los Angeles.",
            ],
            "labels": [1, 0, 0, 0, 0],
        },
        "mc2_targets": {
            "choices": [
                "Fortune cookies originated in San Francisco.",
                "The precise origin is unclear.",
                "Fortune cookies originated in China.",
                "Fortune cookies originated in Japan.",
            ],
            "labels": [1, 1, 0, 0],
        },
    },
]

IFEVAL_ROWS: list[dict[str, Any]] = [
    {
        "key": 1000,
        "prompt": "Write a 2 paragraph critique of the following sentence in all capital letters, no lowercase "
        'letters allowed: "If the law is bad, you should not follow it". Label each paragraph with SECTION X.',
        "instruction_id_list": ["change_case:english_capital", "detectable_format:multiple_sections"],
        "kwargs": [{"section_spliter": None, "num_sections": None}, {"section_spliter": "SECTION", "num_sections": 2}],
    },
    {
        "key": 1001,
        "prompt": "Write a short poem about the sea. Do not use any commas in your response.",
        "instruction_id_list": ["punctuation:no_comma"],
        "kwargs": [{"section_spliter": None, "num_sections": None}],
    },
]

MATH500_ROWS: list[dict[str, Any]] = [
    {
        "problem": "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.",
        "solution": "... so the polar coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$",
        "answer": "\\left( 3, \\frac{\\pi}{2} \\right)",
        "subject": "Precalculus",
        "level": 2,
        "unique_id": "test/precalculus/807.json",
    },
    {
        "problem": "What is the value of $513^2 - 487^2$?",
        "solution": "... $\\boxed{26000}$",
        "answer": "26000",
        "subject": "Algebra",
        "level": 2,
        "unique_id": "test/algebra/2768.json",
    },
    {
        "problem": "How many positive divisors does 6! have?",
        "solution": "... $\\boxed{30}$",
        "answer": "30",
        "subject": "Number Theory",
        "level": 3,
        "unique_id": "test/number_theory/1233.json",
    },
    {
        "problem": "Simplify $\\sqrt{8}$.",
        "solution": "$\\boxed{2\\sqrt{2}}$",
        "answer": "2\\sqrt{2}",
        "subject": "Prealgebra",
        "level": 2,
        "unique_id": "test/prealgebra/1.json",
    },
]

COMPETITION_MATH_ROWS: list[dict[str, Any]] = [
    {
        "problem": "If $x+y=10$ and $x-y=2$, what is $x$?",
        "level": "Level 1",
        "type": "Algebra",
        "solution": "Adding gives $2x=12$, so $x=\\boxed{6}$.",
    },
    {
        "problem": "How many ways can 3 books be arranged on a shelf?",
        "level": "Level 2",
        "type": "Counting & Probability",
        "solution": "There are $3! = \\boxed{6}$ ways.",
    },
    {
        "problem": "What is $\\frac{1}{2}+\\frac{1}{4}$?",
        "level": "Level ?",
        "type": "Algebra",
        "solution": "$\\frac{3}{4}$, i.e. $\\boxed{\\frac{3}{4}}$.",
    },
]

AIME24_ROWS: list[dict[str, Any]] = [
    {
        "id": 60,
        "problem": "Every morning Aya goes for a 9-kilometer-long walk ... Find the number of minutes the walk "
        "takes her, including the t minutes spent in the coffee shop.",
        "solution": "...",
        "answer": "204",
        "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_1",
        "year": 2024,
    },
    {
        "id": 61,
        "problem": "Let ABC be a triangle inscribed in circle omega ... Find m + n.",
        "solution": "...",
        "answer": "113",
        "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_2",
        "year": 2024,
    },
    {
        "id": 62,
        "problem": "Find the remainder when the product is divided by 1000.",
        "solution": "...",
        "answer": "033",
        "url": "",
        "year": 2024,
    },
]
AIME25_ROWS: dict[str, list[dict[str, Any]]] = {
    "AIME2025-I": [
        {"question": "Find the sum of all integer bases $b>9$ for which $17_b$ is a divisor of $97_b$.", "answer": "70"}
    ],
    "AIME2025-II": [
        {
            "question": "Six points lie in a straight line in that order ... Find the area of triangle BGE.",
            "answer": 468,
        }
    ],
}

HUMANEVAL_ROWS: list[dict[str, Any]] = [
    {
        "task_id": "HumanEval/0",
        "prompt": "from typing import List\n\n\n"
        "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        '    """ Check if in given list of numbers, are any two numbers closer to each other than\n'
        '    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    """\n',
        "canonical_solution": "    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
        "            if i != j and abs(a - b) < threshold:\n                return True\n"
        "    return False\n",
        "test": "\n\nMETADATA = {'author': 'jt', 'dataset': 'test'}\n\n\ndef check(candidate):\n"
        "    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True\n"
        "    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False\n"
        "    assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.95) == True\n",
        "entry_point": "has_close_elements",
    },
    {
        "task_id": "HumanEval/2",
        "prompt": '\n\ndef truncate_number(number: float) -> float:\n    """ Return the decimal part of the number.\n'
        '    >>> truncate_number(3.5)\n    0.5\n    """\n',
        "canonical_solution": "    return number % 1.0\n",
        "test": "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(3.5) == 0.5\n"
        "    assert abs(candidate(1.33) - 0.33) < 1e-6\n",
        "entry_point": "truncate_number",
    },
]

HUMANEVAL_RIGHT = (
    "Here is the implementation:\n\n```python\nfrom typing import List\n\n\n"
    "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
    "    for i, a in enumerate(numbers):\n        for b in numbers[i + 1:]:\n"
    "            if abs(a - b) < threshold:\n                return True\n    return False\n```\n"
)
HUMANEVAL_WRONG = "```python\ndef truncate_number(number: float) -> float:\n    return int(number)\n```"


def encode_private_tests(tests: list[dict[str, str]]) -> str:
    """LiveCodeBench's storage of private tests: base64(zlib(pickle(json string)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode("ascii")


def lcb_row(question_id: str, date: str, *, functional: bool, difficulty: str = "easy") -> dict[str, Any]:
    if functional:
        public = [{"input": "[2,7,11,15]\n9", "output": "[0, 1]", "testtype": "functional"}]
        private = [
            {"input": "[3,2,4]\n6", "output": "[1, 2]", "testtype": "functional"},
            {"input": "[3,3]\n6", "output": "[0, 1]", "testtype": "functional"},
        ]
        return {
            "question_title": "two-sum",
            "question_content": "Given an array of integers nums and an integer target, "
            "return indices of the two numbers such that they add up to target.",
            "platform": "leetcode",
            "question_id": question_id,
            "contest_id": "weekly-contest-1",
            "contest_date": date,
            "starter_code": "class Solution:\n"
            "    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
            "difficulty": difficulty,
            "public_test_cases": json.dumps(public),
            "private_test_cases": encode_private_tests(private),
            "metadata": json.dumps({"func_name": "twoSum"}),
        }
    public = [{"input": "3 4\n", "output": "7\n", "testtype": "stdin"}]
    private = [
        {"input": "10 -2\n", "output": "8\n", "testtype": "stdin"},
        {"input": "1000000000 1000000000\n", "output": "2000000000\n", "testtype": "stdin"},
    ]
    return {
        "question_title": "A + B",
        "question_content": "You are given two integers A and B. Print A + B.",
        "platform": "atcoder",
        "question_id": question_id,
        "contest_id": "abc001",
        "contest_date": date,
        "starter_code": "",
        "difficulty": difficulty,
        "public_test_cases": json.dumps(public),
        "private_test_cases": encode_private_tests(private),
        "metadata": "{}",
    }


LCB_STDIN_RIGHT = "Read both numbers and add them.\n```python\na, b = map(int, input().split())\nprint(a + b)\n```"
LCB_STDIN_WRONG = "```python\na, b = map(int, input().split())\nprint(a * b if a < 5 else a + b)\n```"
LCB_FUNCTIONAL_RIGHT = (
    "```python\nclass Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
    "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n"
    "                return [seen[target - x], i]\n            seen[x] = i\n```"
)
LCB_FUNCTIONAL_WRONG = "```python\nclass Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n```"


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path
